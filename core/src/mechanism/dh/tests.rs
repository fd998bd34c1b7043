//! Diffie-Hellman: an exchange in ffdhe2048 checked against independently computed values,
//! generation, and every bad input.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::rng::DeterministicRng;

#[path = "vectors.rs"]
pub(crate) mod vectors;
use vectors::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn ffdhe2048() -> Params {
    params(&h(FFDHE2048), &[2]).unwrap()
}

#[test]
fn ffdhe2048_known_answer() {
    let p = ffdhe2048();
    assert_eq!((p.prime_bits(), p.byte_len()), (2048, 256));
    assert_eq!(public_from_private(&p, &h(XA)).unwrap(), h(YA));
    assert_eq!(public_from_private(&p, &h(XB)).unwrap(), h(YB));
    assert_eq!(shared_secret(&p, &h(XA), &h(YB)).unwrap().expose(), &h(Z)[..]);
    assert_eq!(shared_secret(&p, &h(XB), &h(YA)).unwrap().expose(), &h(Z)[..]);
}

#[test]
fn generated_pairs_agree() {
    let p = ffdhe2048();
    let mut rng = DeterministicRng::from_seed([6; 32]);
    let (xa, ya) = generate(&p, None, &mut rng).unwrap();
    let (xb, yb) = generate(&p, Some(256), &mut rng).unwrap();
    assert_eq!(bit_len(xb.expose()), 256);
    check_public(&p, &ya).unwrap();
    let za = shared_secret(&p, xa.expose(), &yb).unwrap();
    let zb = shared_secret(&p, xb.expose(), &ya).unwrap();
    assert_eq!(za.expose(), zb.expose());
    assert_eq!(za.len(), 256);
    for bad in [Some(1), Some(2048), Some(5000)] {
        assert_eq!(generate(&p, bad, &mut rng).map(|_| ()), Err(Error::TemplateInconsistent));
    }
}

#[test]
fn public_values_are_checked() {
    let p = ffdhe2048();
    let prime = h(FFDHE2048);
    let mut p_minus_1 = prime.clone();
    p_minus_1[255] -= 1;
    for y in [vec![], vec![0], vec![1], p_minus_1.clone(), prime.clone(), vec![0xff; 257]] {
        assert_eq!(
            shared_secret(&p, &h(XA), &y).map(|_| ()),
            Err(Error::MechanismParamInvalid),
            "{}",
            y.len()
        );
        assert_eq!(check_public(&p, &y), Err(Error::AttributeValueInvalid));
    }
    assert_eq!(public_from_private(&p, &[]), Err(Error::AttributeValueInvalid));
    assert_eq!(public_from_private(&p, &p_minus_1), Err(Error::AttributeValueInvalid));
    assert_eq!(shared_secret(&p, &[0], &h(YB)).map(|_| ()), Err(Error::KeyTypeInconsistent));
}

#[test]
fn parameter_checks_and_generation() {
    let prime = h(FFDHE2048);
    let mut even = prime.clone();
    even[255] &= 0xfe;
    assert_eq!(params(&even, &[2]).map(|_| ()), Err(Error::DomainParamsInvalid));
    let mut p_minus_1 = prime.clone();
    p_minus_1[255] -= 1;
    for g in [vec![], vec![1], p_minus_1, prime.clone()] {
        assert_eq!(params(&prime, &g).map(|_| ()), Err(Error::DomainParamsInvalid));
    }
    assert_eq!(params(&prime[..64], &[2]).map(|_| ()), Err(Error::KeySizeRange));
    assert_eq!(
        generate_params(512, &mut DeterministicRng::from_seed([1; 32])).map(|_| ()),
        Err(Error::KeySizeRange)
    );
    let p = generate_params(1024, &mut DeterministicRng::from_seed([7; 32])).unwrap();
    assert_eq!((p.prime_bits(), p.base()), (1024, vec![2]));
    // A safe prime: (p - 1) / 2 is prime.
    let q = BoxedUint::from_be_slice_vartime(&p.prime()).shr_vartime(1).unwrap();
    assert!(crypto_primes::is_prime(crypto_primes::Flavor::Any, &q));
}

#[test]
fn spki_structure() {
    let p = ffdhe2048();
    let spki = public_key_info(&p, &h(YA));
    // SEQUENCE { SEQUENCE { dhKeyAgreement, SEQUENCE { INTEGER p, INTEGER 2 } }, BIT STRING }
    assert_eq!(spki[..2], [0x30, 0x82]);
    assert_eq!(spki.len(), 4 + usize::from(u16::from_be_bytes([spki[2], spki[3]])));
    // p has its top bit set: its INTEGER is 4 + 257 bytes, g's 3, so DHParameter holds 0x108.
    assert_eq!(spki[4..8], [0x30, 0x82, 0x01, 0x17]);
    assert_eq!(spki[8..19], [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x03, 0x01]);
    assert_eq!(spki[19..23], [0x30, 0x82, 0x01, 0x08]);
    assert_eq!(spki[4 + 4 + 0x117], 0x03, "then the BIT STRING");
}
