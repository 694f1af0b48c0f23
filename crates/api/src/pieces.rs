//! Large answers handed to the HTTP writer a piece at a time.
//!
//! The writer copies what it is given into its own buffer before sending.
//! Given a page of a megabyte at once, that buffer grows to a megabyte, and
//! since it is larger than the writer keeps between answers it is freed and
//! made again, page faults included, for every page. In pieces of 32 KiB the
//! buffer stays small and is reused.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;

/// The most the writer is handed at once.
pub const PIECE: usize = 32 * 1024;

/// Takes the next piece of at most [`PIECE`] bytes off the front of `rest`.
pub fn next_piece(rest: &mut Bytes) -> Option<Bytes> {
    (!rest.is_empty()).then(|| rest.split_to(rest.len().min(PIECE)))
}

/// A body of known length (sent with `Content-Length`) in pieces.
pub struct Pieces(Bytes);

impl Pieces {
    /// The body `bytes`.
    pub fn new(bytes: impl Into<Bytes>) -> Pieces {
        Pieces(bytes.into())
    }
}

impl MessageBody for Pieces {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.0.len() as u64)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(next_piece(&mut self.get_mut().0).map(Ok))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn the_pieces_are_the_body() {
        let body: Vec<u8> = (0..(3 * PIECE + 17)).map(|i| (i % 251) as u8).collect();
        let pieces = Pieces::new(body.clone());
        assert_eq!(pieces.size(), BodySize::Sized(body.len() as u64));
        let sent = actix_web::body::to_bytes(pieces).await.expect("read");
        assert_eq!(&sent[..], &body[..]);
        let mut rest = Bytes::from(body);
        let sizes: Vec<usize> = std::iter::from_fn(|| next_piece(&mut rest))
            .map(|p| p.len())
            .collect();
        assert_eq!(sizes, [PIECE, PIECE, PIECE, 17]);
    }
}
