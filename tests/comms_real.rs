//! Crisis communications with real outside programs: the status page opened in headless
//! Chromium (phone and desktop widths, the DOM read back), SMS through Kannel (Debian's
//! bearerbox and smsbox, with fakesmsc as the SMS centre), and `warroom check` and `notify
//! preview` as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use warroom::clock::ManualClock;
use warroom::config::{self, ProcessEnv};
use warroom::engine::Engine;
use warroom::engine::comms::deliver::Deliverer;
use warroom::model::comms::{DeliveryState, Stage};
use warroom::model::failover::{IncidentKind, Severity};

fn config(dir: &Path, rest: &str) -> PathBuf {
    let text = format!(
        "[console]\noperator = \"alice\"\nstate_dir = \"{}\"\n\n[[systems]]\nname = \"database\"\ntier = 1\n\n[[systems]]\nname = \"api\"\ntier = 1\ndepends_on = [\"database\"]\n\n{rest}",
        dir.join("state").display()
    );
    let path = dir.join("warroom.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn engine(path: &Path) -> Engine {
    let loaded = config::load(path, &ProcessEnv).unwrap_or_else(|e| panic!("{e}"));
    Engine::open_with_clock(loaded.config, Arc::new(ManualClock::new(chrono::Utc::now()))).await.unwrap()
}

/// A program the test needs: in CI it must be there; elsewhere the test says loudly it skips.
fn needed(program: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(program)).find(|p| p.is_file()))
        .or_else(|| {
            [format!("/usr/sbin/{program}"), format!("/usr/lib/kannel/test/{program}")]
                .into_iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
        });
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "{program} is not installed: .ci/run must install it");
        eprintln!("SKIPPED: {program} is not installed (apt install chromium kannel kannel-extras)");
    }
    found
}

#[tokio::test]
async fn the_status_page_reads_in_a_real_browser_at_phone_and_desktop_widths() {
    let Some(chromium) = needed("chromium") else { return };
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let path = config(
        dir.path(),
        &format!(
            "[[contacts]]\nname = \"customers\"\nemail = \"status@example.com\"\nlists = [\"external\"]\n\n[notify.file]\npath = \"notices.log\"\n\n[statuspage]\ntitle = \"Example status\"\npath = \"{}\"\nurl = \"https://status.example.com\"\n[statuspage.components]\ndatabase = \"Payments\"\napi = \"Public API\"\n",
            site.display()
        ),
    );
    let engine = engine(&path).await;
    let incident = engine
        .declare_incident(IncidentKind::Infrastructure, Severity(1), &["database".into()], "alice")
        .await
        .unwrap();
    let c =
        engine.compose(&incident, Stage::Initial, &[], "Card payments may fail <for now>.").await.unwrap();
    engine.queue_notice(&c, "alice", None).await.unwrap();
    engine.publish_statuspage().await.unwrap();
    let index = site.join("index.html");
    let url = format!("file://{}", index.display());
    let run = |args: &[&str]| {
        let out = Command::new(&chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
            .arg(format!("--user-data-dir={}", dir.path().join("chromium-profile").display()))
            .args(args)
            .arg(&url)
            .stderr(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "chromium failed: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dom = run(&["--dump-dom"]);
    assert!(dom.contains("data-component=\"Payments\""), "{dom}");
    assert!(dom.contains("data-component=\"Public API\""), "{dom}");
    // The API was never probed and depends on the affected database: degraded, not operational.
    let api = dom.split("data-component=\"Public API\"").nth(1).unwrap_or_default();
    assert!(api.split("</li>").next().unwrap_or_default().contains("Degraded performance"), "{dom}");
    assert!(dom.contains("Investigating"), "{dom}");
    assert!(dom.contains("Card payments may fail &lt;for now&gt;."), "the commander's words, escaped: {dom}");
    // The playbook's updates go inside only: the public is promised no next update it will not get.
    assert!(!dom.contains("id=\"next-update\""), "{dom}");
    assert!(dom.contains("Last updated"), "{dom}");
    assert!(!dom.contains("<script"), "no JavaScript: {dom}");
    for (name, w, h) in [("phone", 390, 844), ("desktop", 1280, 800)] {
        let shot = dir.path().join(format!("{name}.png"));
        run(&[&format!("--screenshot={}", shot.display()), &format!("--window-size={w},{h}")]);
        let png = std::fs::read(&shot).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        assert_eq!(width, w, "{name} screenshot width");
        assert!(png.len() > 5000, "{name}: something was drawn");
    }
    let feed = std::fs::read_to_string(site.join("feed.atom")).unwrap();
    assert!(feed.contains(&format!("urn:warroom:notice:{}-initial-1", incident.id)), "{feed}");
}

struct Kannel {
    children: Vec<Child>,
    fakesmsc: Child,
    sendsms: u16,
    dir: PathBuf,
}

impl Drop for Kannel {
    fn drop(&mut self) {
        for c in self.children.iter_mut().chain(std::iter::once(&mut self.fakesmsc)) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn port() -> u16 {
    common::smtp::free_port()
}

fn start_kannel(dir: &Path) -> Option<Kannel> {
    let bearerbox = needed("bearerbox")?;
    let smsbox = needed("smsbox")?;
    let fakesmsc = needed("fakesmsc")?;
    let (admin, box_port, smsc, sendsms) = (port(), port(), port(), port());
    let conf = dir.join("kannel.conf");
    std::fs::write(
        &conf,
        format!(
            "group = core\nadmin-port = {admin}\nadmin-password = secret\nsmsbox-port = {box_port}\nbox-allow-ip = 127.0.0.1\nlog-level = 1\nlog-file = \"{d}/bearerbox.log\"\n\n\
             group = smsc\nsmsc = fake\nsmsc-id = FAKE\nport = {smsc}\nconnect-allow-ip = 127.0.0.1\n\n\
             group = smsbox\nbearerbox-host = 127.0.0.1\nbearerbox-port = {box_port}\nsendsms-port = {sendsms}\nlog-level = 1\nlog-file = \"{d}/smsbox.log\"\n\n\
             group = sendsms-user\nusername = warroom\npassword = s3cret\n\n\
             group = sms-service\nkeyword = default\ntext = \"ok\"\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let spawn = |program: &Path, args: &[&str], out: &str| {
        Command::new(program)
            .args(args)
            .stdout(std::fs::File::create(dir.join(out)).unwrap())
            .stderr(std::fs::File::create(dir.join(format!("{out}.err"))).unwrap())
            .spawn()
            .unwrap()
    };
    let bb = spawn(&bearerbox, &[conf.to_str().unwrap()], "bearerbox.out");
    std::thread::sleep(Duration::from_millis(500));
    let sb = spawn(&smsbox, &[conf.to_str().unwrap()], "smsbox.out");
    // fakesmsc plays the SMS centre: it connects to bearerbox and prints what it is sent.
    let fake = spawn(
        &fakesmsc,
        &["-H", "127.0.0.1", "-r", &smsc.to_string(), "-m", "0", "-i", "1", "100 200 text hi"],
        "fakesmsc.out",
    );
    let k = Kannel { children: vec![sb, bb], fakesmsc: fake, sendsms, dir: dir.to_owned() };
    // Ready when smsbox answers on its sendsms port.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", sendsms)).is_err() {
        assert!(
            Instant::now() < deadline,
            "smsbox did not start: {}",
            std::fs::read_to_string(dir.join("smsbox.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(k)
}

#[tokio::test]
async fn sms_goes_through_kannel_with_the_http_kind() {
    let dir = tempfile::tempdir().unwrap();
    let Some(kannel) = start_kannel(dir.path()) else { return };
    std::fs::write(dir.path().join("kannel-password"), "s3cret\n").unwrap();
    let path = config(
        dir.path(),
        &format!(
            "[[contacts]]\nname = \"erin\"\nphone = \"+4915112345678\"\nlists = [\"operations\"]\nchannels = [\"sms\"]\n\n\
             [notify.sms]\nkind = \"http\"\nmethod = \"GET\"\nurl = \"http://127.0.0.1:{}/cgi-bin/sendsms?username=warroom&password={{{{ secret | urlencode }}}}&from=warroom&to={{{{ to | urlencode }}}}&text={{{{ text | urlencode }}}}\"\nsecret_file = \"kannel-password\"\nsuccess_status = [202]\nsuccess_body = \"Accepted\"\npermanent_status = [400, 403]\n",
            kannel.sendsms
        ),
    );
    let engine = engine(&path).await;
    let incident = engine
        .declare_incident(IncidentKind::Infrastructure, Severity(1), &["database".into()], "alice")
        .await
        .unwrap();
    let c = engine
        .compose(&incident, Stage::Initial, &["operations".into()], "Failover under way")
        .await
        .unwrap();
    engine.queue_notice(&c, "alice", None).await.unwrap();
    let d = Deliverer::new(&engine);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        d.round().await.unwrap();
        let rows = engine.outbox(None).await.unwrap();
        if rows[0].state == DeliveryState::DeliveredToProvider {
            break;
        }
        assert!(Instant::now() < deadline, "not delivered: {rows:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The SMS centre got it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // fakesmsc logs what the centre received on its standard error.
        let got = ["fakesmsc.out", "fakesmsc.out.err"]
            .map(|f| std::fs::read_to_string(kannel.dir.join(f)).unwrap_or_default())
            .concat();
        if got.contains("Failover under way") && got.contains("+4915112345678") {
            break;
        }
        assert!(Instant::now() < deadline, "fakesmsc did not receive it: {got}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn check_names_the_template_file_and_line_of_an_unknown_field_and_a_bad_number() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("templates")).unwrap();
    std::fs::write(
        dir.path().join("templates/initial-external-sms.j2"),
        "{{ incident.id }}\n{{ incident.colour }}\n",
    )
    .unwrap();
    let path = config(
        dir.path(),
        "[[contacts]]\nname = \"bob\"\nphone = \"+49 151 1234567\"\nlists = [\"technical\"]\n\n[notify]\ntemplates = \"templates\"\n\n[notify.file]\npath = \"notices.log\"\n",
    );
    let out = common::warroom(dir.path()).args(["check", path.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("templates/initial-external-sms.j2:2:"), "{stderr}");
    assert!(stderr.contains("`incident.colour` is not a field"), "{stderr}");
    assert!(stderr.contains("contacts[bob].phone"), "{stderr}");
    assert!(stderr.contains("only digits after the +"), "{stderr}");
    // The line of the phone number in the file.
    let line =
        std::fs::read_to_string(&path).unwrap().lines().position(|l| l.starts_with("phone")).unwrap() + 1;
    assert!(stderr.contains(&format!("warroom.toml:{line}")), "{stderr}");
}

#[tokio::test]
async fn a_long_sms_is_previewed_with_its_segments_never_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        dir.path(),
        "[[contacts]]\nname = \"bob\"\nphone = \"+4915112345678\"\nlists = [\"technical\"]\nchannels = [\"sms\"]\n\n[notify.sms]\nkind = \"twilio\"\nbase_url = \"http://127.0.0.1:1\"\naccount_sid = \"AC1\"\nauth_token_env = \"NOT_NEEDED_FOR_A_PREVIEW\"\nfrom = \"+15005550006\"\n",
    );
    let e = engine(&path).await;
    e.declare_incident(IncidentKind::Cyber, Severity(1), &["database".into()], "alice").await.unwrap();
    e.close().await;
    let message = "The primary data centre lost power at 22:04; the standby database is being promoted and the API will follow. Expect errors on checkout until the failover completes, which we forecast for 22:40 UTC.";
    let out = common::warroom(dir.path())
        .args([
            "--config",
            path.to_str().unwrap(),
            "notify",
            "preview",
            "--stage",
            "initial",
            "--message",
            message,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(message), "the whole text: {stdout}");
    assert!(stdout.contains("309 characters · GSM-7 · 3 segments"), "{stdout}");
    assert!(stdout.contains("warning: the internal SMS is"), "{stdout}");
    assert!(stdout.contains("nothing was sent"), "{stdout}");
}
