//! Caller pointers, checked once at the edge.
//!
//! Every read of application memory goes through these helpers, so the C layer has one
//! place where NULL, misalignment and absurd lengths become `CKR_ARGUMENTS_BAD` instead of
//! undefined behaviour. What no helper can check — that a non-NULL pointer really points
//! at `len` live elements — is the PKCS#11 caller contract, and each `unsafe` block that
//! relies on it says which pointer it trusts.

use core::{ffi::CStr, marker::PhantomData, mem::size_of, ptr::NonNull};

use anyhsm_core::{Error, Result, info::OutBuf};
use cryptoki_sys::CK_ULONG;

use super::convert::{ck_len, len_from_ck};

/// The caller's `(pointer, length)` pair as a slice. `NULL` with length 0 is the empty slice
/// (PKCS#11 allows it for empty PINs, data and templates).
///
/// # Errors
/// `ArgumentsBad` for `NULL` with a non-zero length, a misaligned pointer, or a length
/// whose byte size does not fit the address space.
///
/// # Safety
/// Unless `ptr` is `NULL`, it must point at `len` initialised `T`s that stay valid and are
/// not written through another path for `'a`.
pub unsafe fn slice_from_raw<'a, T>(ptr: *const T, len: CK_ULONG) -> Result<&'a [T]> {
    let len = checked_len::<T>(ptr, len)?;
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: non-NULL and aligned (checked above), the byte size fits `isize` (checked
    // above), and the caller contract of this function covers validity for `len` elements.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// Like [`slice_from_raw`], for memory the module writes into (a caller's `CK_ATTRIBUTE`
/// array that `C_GetAttributeValue` fills in place).
///
/// # Errors
/// As [`slice_from_raw`].
///
/// # Safety
/// Unless `ptr` is `NULL`, it must point at `len` initialised `T`s that nothing else reads
/// or writes for `'a`.
pub unsafe fn slice_mut_from_raw<'a, T>(ptr: *mut T, len: CK_ULONG) -> Result<&'a mut [T]> {
    let len = checked_len::<T>(ptr, len)?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: as in `slice_from_raw`; exclusivity is this function's caller contract.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// Copy one `T` out of caller memory.
///
/// # Errors
/// `ArgumentsBad` for `NULL`.
///
/// # Safety
/// Unless `ptr` is `NULL`, it must point at an initialised `T` (alignment is not required).
pub unsafe fn read<T: Copy>(ptr: *const T) -> Result<T> {
    if ptr.is_null() {
        return Err(Error::ArgumentsBad);
    }
    // SAFETY: non-NULL; validity is the caller contract; `read_unaligned` tolerates the
    // packed or byte-aligned structs some applications pass as `void *` parameters.
    Ok(unsafe { ptr.read_unaligned() })
}

/// A NUL-terminated string from the caller (`C_GetInterface`'s `pInterfaceName`), or
/// `None` for `NULL`.
///
/// # Safety
/// Unless `ptr` is `NULL`, it must point at a NUL-terminated string valid for `'a`.
pub unsafe fn c_str<'a>(ptr: *const u8) -> Option<&'a CStr> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL; NUL termination and validity are the caller contract.
    Some(unsafe { CStr::from_ptr(ptr.cast()) })
}

/// One out-parameter (`CK_OBJECT_HANDLE_PTR phObject`, `CK_SLOT_INFO_PTR pInfo`, …),
/// checked before the engine acts so that a `NULL` cannot turn a created object into a
/// leaked one.
#[derive(Debug)]
pub struct Out<'a, T> {
    ptr: NonNull<T>,
    _call: PhantomData<&'a mut T>,
}

impl<'a, T> Out<'a, T> {
    /// # Errors
    /// `ArgumentsBad` for `NULL` or a misaligned pointer.
    ///
    /// # Safety
    /// Unless `ptr` is `NULL`, it must be valid for writing one `T` for `'a`.
    pub unsafe fn new(ptr: *mut T) -> Result<Self> {
        let ptr = NonNull::new(ptr).ok_or(Error::ArgumentsBad)?;
        if !ptr.is_aligned() {
            return Err(Error::ArgumentsBad);
        }
        Ok(Self { ptr, _call: PhantomData })
    }

    /// Store the result.
    pub fn write(self, value: T) {
        // SAFETY: non-NULL and aligned (checked in `new`), writable for `'a` by the contract
        // of `new`; `write` does not read or drop the (possibly uninitialised) old value.
        unsafe { self.ptr.as_ptr().write(value) }
    }
}

/// A caller's output array of fixed capacity (`C_FindObjects`' `phObject`,
/// `C_GenerateRandom`'s `pRandomData`), checked before the engine acts. The memory may be
/// uninitialised: it is only ever written, never read or referenced.
#[derive(Debug)]
pub struct OutSlice<'a, T> {
    data: *mut T,
    capacity: usize,
    _call: PhantomData<&'a mut [T]>,
}

impl<'a, T: Copy> OutSlice<'a, T> {
    /// # Errors
    /// `ArgumentsBad` for NULL with a non-zero capacity, a misaligned pointer, or a
    /// capacity whose byte size does not fit the address space.
    ///
    /// # Safety
    /// Unless `data` is NULL, it must be valid for writing `capacity` elements for `'a`.
    pub unsafe fn new(data: *mut T, capacity: CK_ULONG) -> Result<Self> {
        let capacity = checked_len::<T>(data, capacity)?;
        Ok(Self { data, capacity, _call: PhantomData })
    }

    /// How many elements fit.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Copy `items` to the start of the array.
    ///
    /// # Errors
    /// `GeneralError` if they do not fit: a bug in the caller of this method.
    pub fn fill(self, items: &[T]) -> Result<()> {
        if items.len() > self.capacity {
            return Err(Error::GeneralError);
        }
        if !items.is_empty() {
            // SAFETY: `items.len() <= capacity`, so `capacity > 0` and `data` is non-NULL
            // and aligned (checked in `new`) and writable for `capacity` elements by the
            // contract of `new`; `items` is our memory, not the caller's.
            unsafe { core::ptr::copy_nonoverlapping(items.as_ptr(), self.data, items.len()) };
        }
        Ok(())
    }
}

/// An output buffer with its length word: the `pOut` / `pulOutLen` pair of every function
/// that follows the length-query convention (PKCS#11 §5.2), for bytes, slot IDs, mechanism
/// types and interfaces alike.
#[derive(Debug)]
pub struct OutBuffer<'a, T> {
    data: Option<OutSlice<'a, T>>,
    len: Out<'a, CK_ULONG>,
}

impl<'a, T: Copy> OutBuffer<'a, T> {
    /// Check the pair and read the capacity the caller claims (`*pulLen`).
    ///
    /// # Errors
    /// `ArgumentsBad` if `len` is NULL or misaligned, or `data` is misaligned.
    ///
    /// # Safety
    /// `len` must be valid for reading and writing one `CK_ULONG`; unless `data` is NULL,
    /// it must be valid for writing `*len` elements of `T`, all for `'a`.
    pub unsafe fn new(data: *mut T, len: *mut CK_ULONG) -> Result<Self> {
        // SAFETY: the caller contract covers `len` for reading.
        let claimed = unsafe { read(len) }?;
        // SAFETY: the caller contract covers `len` for writing.
        let len = unsafe { Out::new(len) }?;
        let data = if data.is_null() {
            None
        } else {
            // A claim larger than the address space is clamped: we never write more than
            // we produce, and what we produce is far smaller.
            let max = isize::MAX.unsigned_abs() / size_of::<T>().max(1);
            let claimed = len_from_ck(claimed).map_or(max, |c| c.min(max));
            // SAFETY: the caller contract covers `data` for `*len` elements.
            Some(unsafe { OutSlice::new(data, ck_len(claimed)) }?)
        };
        Ok(Self { data, len })
    }

    /// `None` when the caller only asks for the length (`pOut == NULL`), else its capacity.
    pub fn capacity(&self) -> Option<usize> {
        self.data.as_ref().map(OutSlice::capacity)
    }

    /// What the engine is told about this buffer.
    pub fn request(&self) -> OutBuf {
        self.capacity().map_or(OutBuf::Query, OutBuf::Capacity)
    }

    /// Copy `items` into the buffer and set the length word. The caller checked that they
    /// fit (see [`super::convert::settle`]).
    ///
    /// # Errors
    /// `GeneralError` if `items` do not fit or there is no buffer: a bug in the caller.
    pub fn fill(self, items: &[T]) -> Result<()> {
        self.data.ok_or(Error::GeneralError)?.fill(items)?;
        self.len.write(ck_len(items.len()));
        Ok(())
    }

    /// Set only the length word (a length query, or a buffer that was too small).
    pub fn set_len(self, len: usize) {
        self.len.write(ck_len(len));
    }
}

/// `len` as `usize`, after the checks every slice helper shares.
fn checked_len<T>(ptr: *const T, len: CK_ULONG) -> Result<usize> {
    if len == 0 {
        return Ok(0);
    }
    if ptr.is_null() || !ptr.is_aligned() {
        return Err(Error::ArgumentsBad);
    }
    let len = len_from_ck(len).ok_or(Error::ArgumentsBad)?;
    match len.checked_mul(size_of::<T>()) {
        Some(bytes) if isize::try_from(bytes).is_ok() => Ok(len),
        _ => Err(Error::ArgumentsBad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_accept_null_only_when_empty() {
        // SAFETY: NULL pointers; nothing is dereferenced.
        unsafe {
            assert_eq!(slice_from_raw::<u8>(core::ptr::null(), 0), Ok(&[][..]));
            assert_eq!(slice_from_raw::<u8>(core::ptr::null(), 1), Err(Error::ArgumentsBad));
            assert!(slice_mut_from_raw::<u64>(core::ptr::null_mut(), 0).is_ok_and(|s| s.is_empty()));
            assert_eq!(
                slice_mut_from_raw::<u64>(core::ptr::null_mut(), 3).map(|s| s.len()),
                Err(Error::ArgumentsBad)
            );
        }
    }

    #[test]
    fn slices_read_caller_memory() {
        let data = [1u8, 2, 3, 4];
        // SAFETY: `data` is live for the whole block and 4 bytes long.
        let s = unsafe { slice_from_raw(data.as_ptr(), 4) }.unwrap();
        assert_eq!(s, &data);
        // A non-NULL pointer with length 0 is also empty.
        // SAFETY: length 0: nothing is read.
        assert_eq!(unsafe { slice_from_raw(data.as_ptr(), 0) }, Ok(&[][..]));
    }

    #[test]
    fn slices_refuse_misaligned_and_huge() {
        let words = [0u64; 2];
        let misaligned = words.as_ptr().cast::<u8>().wrapping_add(1).cast::<u64>();
        // SAFETY: rejected before any dereference.
        unsafe {
            assert_eq!(slice_from_raw(misaligned, 1).map(<[u64]>::len), Err(Error::ArgumentsBad));
            assert_eq!(
                slice_from_raw(words.as_ptr(), CK_ULONG::MAX).map(<[u64]>::len),
                Err(Error::ArgumentsBad)
            );
            assert_eq!(
                slice_from_raw(words.as_ptr(), CK_ULONG::MAX / 8 + 1).map(<[u64]>::len),
                Err(Error::ArgumentsBad)
            );
        }
    }

    #[test]
    fn read_and_out() {
        let v: CK_ULONG = 42;
        // SAFETY: `v` is live; NULL is rejected before dereference.
        unsafe {
            assert_eq!(read(&raw const v), Ok(42));
            assert_eq!(read::<CK_ULONG>(core::ptr::null()), Err(Error::ArgumentsBad));
        }
        let mut slot: CK_ULONG = 0;
        // SAFETY: `slot` is live and writable; NULL is rejected.
        unsafe {
            Out::new(&raw mut slot).unwrap().write(7);
            assert!(Out::<CK_ULONG>::new(core::ptr::null_mut()).is_err());
        }
        assert_eq!(slot, 7);
    }

    #[test]
    fn c_strings() {
        // SAFETY: a static NUL-terminated string, and NULL.
        unsafe {
            assert_eq!(c_str(c"PKCS 11".as_ptr().cast()).map(CStr::to_bytes), Some(&b"PKCS 11"[..]));
            assert_eq!(c_str(core::ptr::null()), None);
        }
    }

    #[test]
    fn out_buffer_query_fill_and_short() {
        let mut len: CK_ULONG = 0;
        // SAFETY: `len` is live; data NULL means length query.
        let q = unsafe { OutBuffer::<u8>::new(core::ptr::null_mut(), &raw mut len) }.unwrap();
        assert_eq!(q.capacity(), None);
        q.set_len(5);
        assert_eq!(len, 5);

        let mut buf = [0u8; 4];
        let mut len: CK_ULONG = 4;
        // SAFETY: `buf` holds 4 bytes as `len` says; both live.
        let b = unsafe { OutBuffer::new(buf.as_mut_ptr(), &raw mut len) }.unwrap();
        assert_eq!(b.capacity(), Some(4));
        b.fill(&[9, 8, 7]).unwrap();
        assert_eq!((buf, len), ([9, 8, 7, 0], 3));

        let mut len: CK_ULONG = 2;
        // SAFETY: as above, capacity 2.
        let b = unsafe { OutBuffer::new(buf.as_mut_ptr(), &raw mut len) }.unwrap();
        assert_eq!(b.fill(&[1, 2, 3]), Err(Error::GeneralError));
        assert_eq!(buf, [9, 8, 7, 0], "nothing written past the claimed capacity");

        // SAFETY: NULL length word is rejected before dereference.
        let r = unsafe { OutBuffer::new(buf.as_mut_ptr(), core::ptr::null_mut()) };
        assert_eq!(r.map(|b| b.capacity()), Err(Error::ArgumentsBad));
    }
}
