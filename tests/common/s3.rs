//! A real S3-compatible server (s3s-fs) on 127.0.0.1, served in-process, that can be stopped
//! mid-run (listener and open connections alike).

use std::net::SocketAddr;
use std::path::Path;

use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub const ACCESS_KEY: &str = "warroom-test-access";
pub const SECRET_KEY: &str = "warroom-test-secret-key-0123456789";
pub const BUCKET: &str = "backups";

pub struct S3Server {
    pub addr: SocketAddr,
    server: JoinHandle<()>,
}

impl S3Server {
    /// Serve `root` (a bucket is a folder in it; `BUCKET` is created).
    pub async fn start(root: &Path) -> S3Server {
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(root).unwrap();
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else { break };
                let service = service.clone();
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        S3Server { addr, server }
    }

    /// Stop answering: the listener closes and every open connection is dropped.
    pub fn stop(&self) {
        self.server.abort();
    }

    /// The `[[locations]]` entry for this server; the keys are read from files in `dir`.
    pub fn location_toml(&self, name: &str, dir: &Path) -> String {
        let access = dir.join("s3-access");
        let secret = dir.join("s3-secret");
        std::fs::write(&access, ACCESS_KEY).unwrap();
        std::fs::write(&secret, SECRET_KEY).unwrap();
        use std::os::unix::fs::PermissionsExt;
        for f in [&access, &secret] {
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        format!(
            "[[locations]]\nname = \"{name}\"\nkind = \"s3\"\nbucket = \"{BUCKET}\"\nprefix = \"warroom-test\"\nendpoint = \"http://{}\"\nregion = \"us-east-1\"\nallow_http = true\naccess_key_id_file = \"{}\"\nsecret_access_key_file = \"{}\"\nmedia = \"object\"\noffsite = true\n",
            self.addr,
            access.display(),
            secret.display()
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.server.abort();
    }
}
