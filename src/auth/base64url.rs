//! Strict unpadded base64url, as JWS requires ([RFC 7515 §2], [RFC 4648 §5]).
//!
//! Only the canonical encoding is accepted: no padding, no `+` or `/`, no whitespace, and the
//! unused low bits of the last character must be zero. Accepting several spellings of one
//! signature would make tokens malleable, which breaks any cache keyed by the token text.
//!
//! [RFC 7515 §2]: https://www.rfc-editor.org/rfc/rfc7515#section-2
//! [RFC 4648 §5]: https://www.rfc-editor.org/rfc/rfc4648#section-5

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Why a segment is not canonical base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A byte outside `A–Z a–z 0–9 - _`, at this offset.
    InvalidByte(usize),
    /// A length of 4n+1 characters cannot encode whole bytes.
    InvalidLength,
    /// The last character carries bits that no encoder would set.
    NonCanonical,
}

fn sextet(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// Decodes `input`, refusing anything but the canonical unpadded form.
pub fn decode(input: &str) -> Result<Vec<u8>, DecodeError> {
    let bytes = input.as_bytes();
    if bytes.len() % 4 == 1 {
        return Err(DecodeError::InvalidLength);
    }

    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for (offset, &byte) in bytes.iter().enumerate() {
        let value = sextet(byte).ok_or(DecodeError::InvalidByte(offset))?;
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }

    if buffer != 0 {
        return Err(DecodeError::NonCanonical);
    }
    Ok(out)
}

/// Encodes `input` without padding.
pub fn encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        let data: Vec<u8> = (0u8..=255).collect();
        for len in 0..40 {
            let encoded = encode(&data[..len]);
            assert!(!encoded.contains('='));
            assert_eq!(decode(&encoded).unwrap(), &data[..len]);
        }
    }

    #[test]
    fn matches_rfc_4648_vectors() {
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode(b"fo"), "Zm8");
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode("-_8").unwrap(), vec![0xfb, 0xff]);
    }

    #[test]
    fn refuses_standard_alphabet_padding_and_whitespace() {
        assert_eq!(decode("+/8"), Err(DecodeError::InvalidByte(0)));
        assert_eq!(decode("Zm8="), Err(DecodeError::InvalidByte(3)));
        assert_eq!(decode("Zm 8"), Err(DecodeError::InvalidByte(2)));
    }

    #[test]
    fn refuses_impossible_length_and_non_canonical_tail() {
        assert_eq!(decode("Zm9vY"), Err(DecodeError::InvalidLength));
        // "Zm9" is canonical for "fo"; "Zm9" differs from "Zm8" only in unused bits.
        assert_eq!(decode("Zm9"), Err(DecodeError::NonCanonical));
    }
}
