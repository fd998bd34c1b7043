//! Block-cipher MACs: `CKM_AES_CMAC`, `CKM_AES_CMAC_GENERAL`, `CKM_AES_MAC`,
//! `CKM_AES_MAC_GENERAL`, `CKM_DES3_CMAC`, `CKM_DES3_CMAC_GENERAL`, `CKM_DES3_MAC`,
//! `CKM_DES3_MAC_GENERAL`. The plain forms give a full block (CMAC) or half a block (CBC-MAC,
//! as the spec says); the `_GENERAL` forms take the length in `CK_MAC_GENERAL_PARAMS`.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::block_cipher::keyed;
use crate::consts::MechanismType as M;
use crate::info::{MechParam, Mechanism};
use crate::mechanism::cmac::{BlockMac, MacKind};
use crate::mechanism::hmac::verify_truncated;
use crate::mechanism::{Family, Signer};
use crate::object::Object;
use crate::rng::Rng;
use crate::{Error, Result};

/// The block-cipher MAC family.
#[derive(Debug)]
pub struct BlockMacs;

/// (AES?, kind, general?) of a mechanism.
fn spec(ty: M) -> Option<(bool, MacKind, bool)> {
    Some(match ty {
        M::AES_CMAC => (true, MacKind::Cmac, false),
        M::AES_CMAC_GENERAL => (true, MacKind::Cmac, true),
        M::AES_MAC => (true, MacKind::CbcMac, false),
        M::AES_MAC_GENERAL => (true, MacKind::CbcMac, true),
        M::DES3_CMAC => (false, MacKind::Cmac, false),
        M::DES3_CMAC_GENERAL => (false, MacKind::Cmac, true),
        M::DES3_MAC => (false, MacKind::CbcMac, false),
        M::DES3_MAC_GENERAL => (false, MacKind::CbcMac, true),
        _ => return None,
    })
}

#[derive(Clone, Debug)]
struct MacOp {
    mac: BlockMac,
    len: usize,
}

impl Signer for MacOp {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        self.mac.update(data);
        Ok(())
    }

    fn feed_all(&mut self, data: &[u8]) -> Result<()> {
        self.update(data)
    }

    fn max_len(&self) -> usize {
        self.len
    }

    fn sign(&self, _rng: &mut dyn Rng) -> Result<Vec<u8>> {
        Ok(self.mac.finish()[..self.len].to_vec())
    }

    fn verify(&self, signature: &[u8]) -> Result<()> {
        if signature.len() != self.len {
            return Err(Error::SignatureLenRange);
        }
        let full = self.mac.finish();
        if verify_truncated(&full[..self.mac.mac_len()], signature) {
            Ok(())
        } else {
            Err(Error::SignatureInvalid)
        }
    }

    fn box_clone(&self) -> Box<dyn Signer> {
        Box::new(self.clone())
    }
}

impl Family for BlockMacs {
    fn signer(&self, mech: &Mechanism, key: &Object, _verify: bool) -> Result<Box<dyn Signer>> {
        let (aes, kind, general) = spec(mech.ty).ok_or(Error::MechanismInvalid)?;
        let block = if aes { 16 } else { 8 };
        let len = match (&mech.param, general) {
            (MechParam::None, false) if kind == MacKind::Cmac => block,
            (MechParam::None, false) => block / 2,
            (MechParam::Ulong(n), true) => match usize::try_from(*n) {
                Ok(n) if (1..=block).contains(&n) => n,
                _ => return Err(Error::MechanismParamInvalid),
            },
            _ => return Err(Error::MechanismParamInvalid),
        };
        let cipher = keyed(key, aes)?;
        Ok(Box::new(MacOp { mac: BlockMac::new(cipher, kind), len }))
    }
}
