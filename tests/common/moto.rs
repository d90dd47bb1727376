//! A real S3 server that implements Object Lock (moto's server, from PyPI), on 127.0.0.1, and
//! boto3 to look at what it holds. `.ci/run` installs it; a machine without it fails the tests
//! that need it, saying how to install it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "warroom-moto-access";
pub const SECRET_KEY: &str = "warroom-moto-secret";

pub struct MotoServer {
    pub port: u16,
    child: Child,
}

impl MotoServer {
    pub fn start() -> MotoServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start python3 -m moto.server ({e}): install it with `pip install 'moto[server]'` (.ci/run does)")
            });
        let mut server = MotoServer { port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "moto's server exited ({status}): is it installed? `pip install 'moto[server]'` (.ci/run does)"
                );
            }
            assert!(Instant::now() < deadline, "moto's server did not start listening within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Run boto3 `code` (with `s3` a client of this server); returns what it printed.
    pub fn boto(&self, code: &str) -> String {
        let script = format!(
            "import boto3, json, datetime\ns3 = boto3.client('s3', endpoint_url='http://127.0.0.1:{}', aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}', region_name='us-east-1')\n{code}\n",
            self.port
        );
        let out = Command::new("python3").arg("-c").arg(script).output().unwrap();
        assert!(out.status.success(), "boto3: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn create_bucket(&self, name: &str, object_lock: bool) {
        self.boto(&format!(
            "s3.create_bucket(Bucket='{name}', ObjectLockEnabledForBucket={})",
            if object_lock { "True" } else { "False" }
        ));
    }

    /// The `[[locations]]` entry for bucket `bucket`, immutable; keys from files in `dir`.
    pub fn location_toml(&self, name: &str, bucket: &str, dir: &Path) -> String {
        use std::os::unix::fs::PermissionsExt;
        let access = dir.join("moto-access");
        let secret = dir.join("moto-secret");
        std::fs::write(&access, ACCESS_KEY).unwrap();
        std::fs::write(&secret, SECRET_KEY).unwrap();
        for f in [&access, &secret] {
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        format!(
            "[[locations]]\nname = \"{name}\"\nkind = \"s3\"\nbucket = \"{bucket}\"\nprefix = \"dr\"\nendpoint = \"http://127.0.0.1:{}\"\nregion = \"us-east-1\"\nallow_http = true\naccess_key_id_file = \"{}\"\nsecret_access_key_file = \"{}\"\nmedia = \"object\"\noffsite = true\nimmutable = true\n",
            self.port,
            access.display(),
            secret.display()
        )
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
