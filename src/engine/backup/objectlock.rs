//! S3 Object Lock for immutable locations: the two calls object_store does not make, signed
//! with AWS Signature Version 4 ourselves.
//!
//! ```text
//!  PUT /<bucket>/<key>?retention   <Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>…</RetainUntilDate></Retention>
//!  GET /<bucket>?object-lock       does the bucket accept Object Lock at all (`check --locations`)
//! ```
//! Objects are locked right after they are whole (the data and the listing before the
//! manifest is written, the rest after), so no copy at an immutable location is ever
//! deletable before its date, by prune or by anyone holding the bucket's credentials.

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::config::backup::LockMode;

/// Where and as whom the lock calls go.
#[derive(Clone)]
pub struct ObjectLock {
    client: reqwest::Client,
    /// `http://127.0.0.1:9000` (path style), or `None` for AWS (virtual-hosted style).
    endpoint: Option<String>,
    bucket: String,
    region: String,
    key_id: String,
    secret: String,
    pub mode: LockMode,
}

impl ObjectLock {
    pub fn new(
        endpoint: Option<&str>,
        bucket: &str,
        region: &str,
        key_id: &str,
        secret: &str,
        mode: LockMode,
    ) -> Result<ObjectLock, String> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(ObjectLock {
            client,
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_owned()),
            bucket: bucket.to_owned(),
            region: region.to_owned(),
            key_id: key_id.to_owned(),
            secret: secret.to_owned(),
            mode,
        })
    }

    /// Lock the object `key` (its full key in the bucket) until `until`.
    pub async fn retain(&self, key: &str, until: DateTime<Utc>) -> Result<(), String> {
        let body = format!(
            "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>{}</Mode><RetainUntilDate>{}</RetainUntilDate></Retention>",
            self.mode.s3_name(),
            until.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        let response = self.send("PUT", Some(key), "retention", body.into_bytes()).await?;
        if response.0.is_success() {
            Ok(())
        } else {
            Err(format!("the bucket refused to lock {key} ({}): {}", response.0, s3_error(&response.1)))
        }
    }

    /// Whether the bucket accepts Object Lock.
    pub async fn check(&self) -> Result<(), String> {
        let (status, body) = self.send("GET", None, "object-lock", Vec::new()).await?;
        if status.is_success() && body.contains("Enabled") {
            Ok(())
        } else if status.is_success() || status.as_u16() == 404 {
            Err(format!(
                "the bucket {} does not accept Object Lock ({}): create it with Object Lock enabled (it cannot be turned on later for some providers)",
                self.bucket,
                s3_error(&body)
            ))
        } else {
            Err(format!(
                "cannot read the bucket {}'s Object Lock setting ({status}): {}",
                self.bucket,
                s3_error(&body)
            ))
        }
    }

    async fn send(
        &self,
        method: &str,
        key: Option<&str>,
        subresource: &str,
        body: Vec<u8>,
    ) -> Result<(reqwest::StatusCode, String), String> {
        let (host, base, path) = match &self.endpoint {
            Some(e) => {
                let host = e.split_once("://").map(|(_, h)| h).unwrap_or(e).to_owned();
                let path = match key {
                    Some(k) => format!("/{}/{}", encode(&self.bucket), encode_path(k)),
                    None => format!("/{}", encode(&self.bucket)),
                };
                (host, e.clone(), path)
            }
            None => {
                let host = format!("{}.s3.{}.amazonaws.com", self.bucket, self.region);
                let path = match key {
                    Some(k) => format!("/{}", encode_path(k)),
                    None => "/".to_owned(),
                };
                (host.clone(), format!("https://{host}"), path)
            }
        };
        let now = Utc::now();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let date = now.format("%Y%m%d").to_string();
        let payload_hash = hex(&Sha256::digest(&body));
        let checksum = base64_sha256(&body);
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), host),
            ("x-amz-content-sha256".into(), payload_hash.clone()),
            ("x-amz-date".into(), amz_date.clone()),
        ];
        if !body.is_empty() {
            // Object Lock calls need a checksum of the body (Content-MD5, or one of these).
            headers.push(("x-amz-checksum-sha256".into(), checksum));
            headers.push(("x-amz-sdk-checksum-algorithm".into(), "SHA256".into()));
        }
        headers.sort();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let signed = signed.join(";");
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
        let query = format!("{subresource}=");
        let canonical = format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{payload_hash}");
        let scope = format!("{date}/{}/s3/aws4_request", self.region);
        let to_sign =
            format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex(&Sha256::digest(canonical.as_bytes())));
        let k_date = hmac(format!("AWS4{}", self.secret).as_bytes(), date.as_bytes());
        let k_region = hmac(&k_date, self.region.as_bytes());
        let k_service = hmac(&k_region, b"s3");
        let k_signing = hmac(&k_service, b"aws4_request");
        let signature = hex(&hmac(&k_signing, to_sign.as_bytes()));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            self.key_id
        );
        let url = format!("{base}{path}?{subresource}");
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = self.client.request(method, &url).header("authorization", authorization);
        for (k, v) in &headers {
            if k != "host" {
                request = request.header(k.as_str(), v.as_str());
            }
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| format!("cannot reach the bucket {}: {e}", self.bucket))?;
        let status = response.status();
        // Bounded: an answer is a few hundred bytes of XML.
        let text = response.text().await.unwrap_or_default().chars().take(2000).collect();
        Ok((status, text))
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64_sha256(body: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
}

/// URI-encode one segment as S3's canonical request wants (RFC 3986 unreserved kept).
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn encode_path(key: &str) -> String {
    key.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// The `<Code>` and `<Message>` of an S3 error answer, else its start.
fn s3_error(body: &str) -> String {
    let tag = |t: &str| {
        let open = format!("<{t}>");
        let close = format!("</{t}>");
        body.split_once(&open).and_then(|(_, rest)| rest.split_once(&close)).map(|(v, _)| v.to_owned())
    };
    match (tag("Code"), tag("Message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        _ => body.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signing key derivation and signature from AWS's own Signature Version 4 example
    /// (GET /test.txt, "Examples of how to derive a signing key").
    #[test]
    fn the_signing_key_matches_aws_documentation() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), b"20120215");
        let k_region = hmac(&k_date, b"us-east-1");
        let k_service = hmac(&k_region, b"iam");
        let k_signing = hmac(&k_service, b"aws4_request");
        assert_eq!(hex(&k_signing), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    }

    #[test]
    fn segments_are_encoded_as_s3_wants() {
        assert_eq!(encode_path("warroom/db/2026 x/a+b"), "warroom/db/2026%20x/a%2Bb");
        assert_eq!(
            s3_error("<Error><Code>AccessDenied</Code><Message>no</Message></Error>"),
            "AccessDenied: no"
        );
    }
}
