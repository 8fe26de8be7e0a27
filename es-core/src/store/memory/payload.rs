//! Payload bytes copied into large shared chunks: a stored event keeps where its bytes are, not
//! an allocation of its own (an allocation costs more than a small payload's bytes), and a read
//! from a full chunk hands out a slice of it without copying.

use bytes::Bytes;

use super::log::to_u32;

/// A chunk's size: a million small payloads fill a few hundred.
const CHUNK: usize = 64 * 1024;
/// Payloads above this size keep their own allocation, as appended: copying them would save
/// little and could leave much of a chunk unused.
const OWN_ABOVE: usize = 1024;
/// The `offset` of a payload kept in its own allocation; chunk offsets stay below `CHUNK`.
const OWN: u32 = u32::MAX;

/// Every stored payload.
#[derive(Debug, Default)]
pub(super) struct Payloads {
    /// Full chunks, frozen: a read slices them, sharing the chunk.
    sealed: Vec<Bytes>,
    /// The chunk being filled, chunk `sealed.len()`: a read copies out of it.
    open: Vec<u8>,
    /// Payloads above `OWN_ABOVE` bytes, as appended.
    own: Vec<Bytes>,
}

/// Where a payload is: bytes `offset..offset + len` of chunk `chunk`, or, when `offset` is
/// `OWN`, the payload `chunk` of those kept in their own allocation.
#[derive(Debug, Clone, Copy)]
pub(super) struct PayloadAt {
    chunk: u32,
    offset: u32,
    len: u32,
}

impl Payloads {
    /// Stores `payload`. Called once per stored event, so every count stays below the log's
    /// event limit.
    pub(super) fn push(&mut self, payload: Bytes) -> PayloadAt {
        if payload.len() > OWN_ABOVE {
            let at = PayloadAt {
                chunk: to_u32(self.own.len()),
                offset: OWN,
                len: 0,
            };
            self.own.push(payload);
            return at;
        }
        if self.open.len() + payload.len() > CHUNK {
            // What the full chunk leaves unused is under `OWN_ABOVE` bytes.
            self.sealed
                .push(Bytes::from(std::mem::take(&mut self.open)));
        }
        if self.open.capacity() == 0 {
            self.open.reserve_exact(CHUNK);
        }
        let at = PayloadAt {
            chunk: to_u32(self.sealed.len()),
            offset: to_u32(self.open.len()),
            len: to_u32(payload.len()),
        };
        self.open.extend_from_slice(&payload);
        at
    }

    /// The payload at `at`: shared with its chunk once that is full, else a copy.
    #[inline]
    pub(super) fn get(&self, at: PayloadAt) -> Bytes {
        if at.offset == OWN {
            return self.own[at.chunk as usize].clone();
        }
        let range = at.offset as usize..(at.offset + at.len) as usize;
        match self.sealed.get(at.chunk as usize) {
            Some(chunk) => chunk.slice(range),
            None => Bytes::copy_from_slice(&self.open[range]),
        }
    }

    /// The bytes of the payload at `at`, where they are stored.
    #[inline]
    pub(super) fn bytes(&self, at: PayloadAt) -> &[u8] {
        if at.offset == OWN {
            return &self.own[at.chunk as usize];
        }
        let range = at.offset as usize..(at.offset + at.len) as usize;
        match self.sealed.get(at.chunk as usize) {
            Some(chunk) => &chunk[range],
            None => &self.open[range],
        }
    }

    /// The size of the payload at `at`, in bytes.
    pub(super) fn len(&self, at: PayloadAt) -> usize {
        if at.offset == OWN {
            self.own[at.chunk as usize].len()
        } else {
            at.len as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small payloads share chunks and come back byte for byte, whether their chunk is full
    /// (a slice of it) or still being filled (a copy); large ones keep their allocation.
    #[test]
    fn payloads_come_back_from_chunks_and_their_own_allocations() {
        let mut payloads = Payloads::default();
        let small: Vec<Bytes> = (0..20_000u32)
            .map(|n| Bytes::from(format!("{{\"n\":{n}}}").into_bytes()))
            .collect();
        let large = Bytes::from(vec![7u8; OWN_ABOVE + 1]);
        let mut stored: Vec<PayloadAt> = small.iter().map(|p| payloads.push(p.clone())).collect();
        stored.push(payloads.push(large.clone()));
        stored.push(payloads.push(Bytes::new()));
        assert!(
            payloads.sealed.len() > 1,
            "the payloads fill several chunks"
        );
        for (at, payload) in stored
            .iter()
            .zip(small.iter().chain([&large, &Bytes::new()]))
        {
            assert_eq!(&payloads.get(*at), payload);
            assert_eq!(payloads.len(*at), payload.len());
        }
        let first = payloads.get(stored[0]);
        assert!(
            payloads.sealed[0].as_ptr_range().contains(&first.as_ptr()),
            "a payload of a full chunk is a slice of it"
        );
        assert_eq!(
            payloads.get(stored[small.len()]).as_ptr(),
            large.as_ptr(),
            "a large payload keeps its allocation"
        );
    }
}
