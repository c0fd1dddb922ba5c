//! A minimal WebSocket client (RFC 6455) for containerd's streaming
//! server: the channel protocol of `kubectl exec -it` and `kubectl
//! port-forward` (`v4.channel.k8s.io`: each binary message starts with its
//! channel's number). Only what those two need: binary frames, masked from
//! the client, no extensions, no fragmentation of what we send.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

pub struct Ws {
    stream: TcpStream,
}

/// One message: its channel and the bytes after the channel byte; None at
/// a close frame.
pub type Message = Option<(u8, Vec<u8>)>;

impl Ws {
    /// Connects to an `http://HOST:PORT/PATH` URL the CRI returned and
    /// upgrades with the given subprotocol; `query` is appended.
    pub async fn connect(url: &str, query: &str, protocol: &str) -> Result<Ws, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("streaming URL {url}: not http://"))?;
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let mut stream = timeout(Duration::from_secs(10), TcpStream::connect(hostport))
            .await
            .map_err(|_| format!("connect {hostport}: timed out"))?
            .map_err(|e| format!("connect {hostport}: {e}"))?;
        let req = format!(
            "GET {path}{query} HTTP/1.1\r\nHost: {hostport}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2FuZGJveC1jcmktdGVzdA==\r\n\
             Sec-WebSocket-Protocol: {protocol}\r\n\r\n"
        );
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| format!("write the upgrade: {e}"))?;
        // The response head, byte by byte up to the blank line: nothing of
        // the first frame is read with it.
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > 16384 {
                return Err("upgrade response: head longer than 16 KiB".into());
            }
            let n = timeout(Duration::from_secs(10), stream.read(&mut b))
                .await
                .map_err(|_| "upgrade response: timed out".to_string())?
                .map_err(|e| format!("upgrade response: {e}"))?;
            if n == 0 {
                return Err(format!(
                    "upgrade response: closed after {:?}",
                    String::from_utf8_lossy(&head)
                ));
            }
            head.push(b[0]);
        }
        let head = String::from_utf8_lossy(&head).to_string();
        if !head.starts_with("HTTP/1.1 101") {
            return Err(format!(
                "upgrade refused: {}",
                head.lines().next().unwrap_or("")
            ));
        }
        Ok(Ws { stream })
    }

    /// Sends `data` on `channel` as one masked binary frame.
    pub async fn send(&mut self, channel: u8, data: &[u8]) -> Result<(), String> {
        let mut payload = vec![channel];
        payload.extend_from_slice(data);
        let mut frame = vec![0x82u8];
        let len = payload.len();
        if len < 126 {
            frame.push(0x80 | len as u8);
        } else if len < 65536 {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
        let mask = [0x5a, 0x17, 0xc3, 0x8e];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream
            .write_all(&frame)
            .await
            .map_err(|e| format!("websocket write: {e}"))
    }

    /// The next data message, skipping pings and pongs; bounded by `limit`.
    pub async fn recv(&mut self, limit: Duration) -> Result<Message, String> {
        timeout(limit, self.recv_inner())
            .await
            .map_err(|_| format!("websocket: nothing within {limit:?}"))?
    }

    async fn recv_inner(&mut self) -> Result<Message, String> {
        loop {
            let mut h = [0u8; 2];
            if let Err(e) = self.stream.read_exact(&mut h).await {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    return Ok(None);
                }
                return Err(format!("websocket read: {e}"));
            }
            let op = h[0] & 0x0f;
            let masked = h[1] & 0x80 != 0;
            let mut len = (h[1] & 0x7f) as u64;
            if len == 126 {
                let mut l = [0u8; 2];
                self.read(&mut l).await?;
                len = u16::from_be_bytes(l) as u64;
            } else if len == 127 {
                let mut l = [0u8; 8];
                self.read(&mut l).await?;
                len = u64::from_be_bytes(l);
            }
            if len > 16 << 20 {
                return Err(format!("websocket: a frame of {len} bytes"));
            }
            let mut mask = [0u8; 4];
            if masked {
                self.read(&mut mask).await?;
            }
            let mut payload = vec![0u8; len as usize];
            self.read(&mut payload).await?;
            if masked {
                for (i, b) in payload.iter_mut().enumerate() {
                    *b ^= mask[i % 4];
                }
            }
            match op {
                8 => return Ok(None),
                9 | 10 => continue,
                _ => {
                    if payload.is_empty() {
                        continue;
                    }
                    let ch = payload[0];
                    return Ok(Some((ch, payload[1..].to_vec())));
                }
            }
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> Result<(), String> {
        self.stream
            .read_exact(buf)
            .await
            .map(|_| ())
            .map_err(|e| format!("websocket read: {e}"))
    }
}
