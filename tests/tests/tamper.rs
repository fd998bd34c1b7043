//! Tampering with a token at rest (issue 5), through the built module, on the file and SQLite
//! stores:
//!
//! - **Nothing secret reaches the disk.** After sensitive keys and private objects with known
//!   values are stored, no file under the token directory (records, metadata, journals,
//!   SQLite database and WAL) holds any 16-byte piece of those values, nor a private
//!   object's label; a public data object's value *is* found there, which shows the search
//!   looks where the records are.
//! - **A flipped byte never gives wrong data.** Each byte of the sealed record of a private
//!   AES key is flipped in turn (a sample of positions for long records), with the store's
//!   own integrity check recomputed so that only the AES-GCM seal can notice. Every time, a
//!   fresh process that logs in cannot use that key (it is left out, or refused), a warning
//!   names the record, and the token's other key still encrypts correctly — checked against
//!   the `aes-gcm` crate, not against the module.

mod storage_common;

use std::fs;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{AeadInOut, KeyInit};
use cryptoki::context::Pkcs11;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};

use storage_common::{
    backend, init_token, load, pin, record_check, report, run_role_with, slot_by_label, token_dir,
};

/// The key whose sealed record is damaged, and a second key that must stay usable.
const TARGET: [u8; 32] = *b"\x5a\x13\xc7\x02\x9e\x44\xb1\x6d\x08\xf3\x7a\x21\xcc\x90\x3e\x55\
                            \xd4\x6b\x17\xa8\x2f\xe0\x81\x39\x4c\xbb\x06\x72\xed\x1a\x95\x60";
const OTHER: [u8; 32] = *b"\x91\x2c\x48\xf5\x03\xbe\x6a\xd7\x3c\x80\x1f\xe2\x57\xa9\x44\x0b\
                           \x78\xc3\x26\x9d\xf1\x05\xba\x63\x4e\x17\xdc\x88\x2a\x6f\xb0\x39";
const IV: [u8; 12] = [7; 12];
const PLAINTEXT: &[u8] = b"sixteen byte msg";

#[test]
fn tamper() {
    storage_common::main(
        "tamper",
        &[
            ("no_secret_reaches_the_disk", no_secret_reaches_the_disk),
            ("flipped_bytes_never_give_wrong_data", flipped_bytes_never_give_wrong_data),
        ],
        &[("probe", probe)],
    );
}

fn token_serial(ctx: &Pkcs11) -> String {
    let slot = slot_by_label(ctx, storage_common::LABEL).expect("the token");
    ctx.get_token_info(slot).expect("C_GetTokenInfo").serial_number().trim().to_owned()
}

fn user_session(ctx: &Pkcs11) -> Session {
    let slot = slot_by_label(ctx, storage_common::LABEL).expect("the token");
    let s = ctx.open_rw_session(slot).expect("C_OpenSession");
    s.login(UserType::User, Some(&pin(storage_common::USER_PIN))).expect("C_Login(user)");
    s
}

fn aes_key(s: &Session, label: &str, value: &[u8], private: bool) -> ObjectHandle {
    s.create_object(&[
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Private(private),
        Attribute::Sensitive(true),
        Attribute::Encrypt(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Value(value.to_vec()),
    ])
    .expect("C_CreateObject (AES key)")
}

/// Every file under `dir`, recursively, with its contents.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("list a directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let bytes = fs::read(&path).expect("read a file");
            out.push((path, bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The 16-byte windows of `value` (any of them on disk would give part of it away).
fn pieces(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.windows(16)
}

fn no_secret_reaches_the_disk() {
    let ctx = load();
    init_token(&ctx, storage_common::LABEL);
    let s = user_session(&ctx);
    let private_label = "private-object-label";
    aes_key(&s, private_label, &TARGET, true);
    aes_key(&s, "public-sensitive-key", &OTHER, false);
    let secret_data = b"private data object: a value no file may show".to_vec();
    s.create_object(&[
        Attribute::Class(ObjectClass::DATA),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Label(b"private data".to_vec()),
        Attribute::Value(secret_data.clone()),
    ])
    .expect("C_CreateObject (private data)");
    let public_data = b"public data object: stored in clear by design".to_vec();
    s.create_object(&[
        Attribute::Class(ObjectClass::DATA),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Label(b"public data".to_vec()),
        Attribute::Value(public_data.clone()),
    ])
    .expect("C_CreateObject (public data)");
    // A generated key too, whose value only the module knows: read it back while it may be
    // (extractable and not sensitive at first), then make it sensitive.
    let generated = s
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::ValueLen(32.into()),
                Attribute::Label(b"generated".to_vec()),
            ],
        )
        .expect("C_GenerateKey");
    let generated_value = match s.get_attributes(generated, &[AttributeType::Value]).expect("read").as_slice()
    {
        [Attribute::Value(v)] => v.clone(),
        other => panic!("unexpected {other:?}"),
    };
    s.update_attributes(generated, &[Attribute::Sensitive(true)]).expect("make it sensitive");
    drop(s);
    ctx.finalize().expect("C_Finalize");

    let files = files_under(&token_dir());
    assert!(!files.is_empty(), "the token is on disk");
    let secrets: [(&str, &[u8]); 5] = [
        ("the private key's value", &TARGET),
        ("the public sensitive key's value", &OTHER),
        ("the private data object's value", &secret_data),
        ("the generated key's value", &generated_value),
        ("the private object's label", private_label.as_bytes()),
    ];
    for (path, bytes) in &files {
        for (what, value) in secrets {
            let leaked = if value.len() >= 16 {
                pieces(value).any(|p| contains(bytes, p))
            } else {
                contains(bytes, value)
            };
            assert!(!leaked, "{what} is readable in {}", path.display());
        }
    }
    assert!(
        files.iter().any(|(_, b)| contains(b, &public_data)),
        "the public data object's value is in clear in some file: the search looks in the right place"
    );
    println!("| {} files searched, no secret found, the public value found", files.len());
}

/// Where one object record is stored.
enum Record {
    File { path: PathBuf, id: u64 },
    Row { db: PathBuf, id: i64 },
}

/// The file store's frame before a record's blob: magic and check.
const FRAME: usize = 4 + 16;

impl Record {
    fn all(serial: &str) -> Vec<Record> {
        if backend() == "sqlite" {
            let db = token_dir().join(format!("{serial}.sqlite"));
            let c = rusqlite::Connection::open(&db).expect("open the token database");
            let mut st = c.prepare("SELECT id FROM objects").expect("query");
            let ids: Vec<i64> =
                st.query_map([], |r| r.get(0)).expect("rows").map(|r| r.expect("id")).collect();
            ids.into_iter().map(|id| Record::Row { db: db.clone(), id }).collect()
        } else {
            let objects = token_dir().join(serial).join("objects");
            fs::read_dir(&objects)
                .expect("list the records")
                .map(|e| e.expect("an entry").path())
                .filter_map(|path| {
                    let stem = path.file_name()?.to_str()?.strip_suffix(".rec")?;
                    let id = u64::from_str_radix(stem, 16).ok()?;
                    Some(Record::File { path, id })
                })
                .collect()
        }
    }

    fn key(&self) -> String {
        match self {
            Record::File { path, .. } => path.display().to_string(),
            Record::Row { id, .. } => format!("{:016x}", u64::from_ne_bytes(id.to_ne_bytes())),
        }
    }

    fn blob(&self) -> Vec<u8> {
        match self {
            Record::File { path, .. } => fs::read(path).expect("read a record")[FRAME..].to_vec(),
            Record::Row { db, id } => rusqlite::Connection::open(db)
                .expect("open")
                .query_row("SELECT blob FROM objects WHERE id = ?1", [id], |r| r.get(0))
                .expect("read the row"),
        }
    }

    /// Store `blob` with a valid store-level check.
    fn put(&self, serial: &str, blob: &[u8]) {
        match self {
            Record::File { path, id } => {
                let mut file = b"AHF1".to_vec();
                file.extend(record_check(serial, *id, blob));
                file.extend(blob);
                fs::write(path, file).expect("write the record");
            }
            Record::Row { db, id } => {
                let check = record_check(serial, u64::from_ne_bytes(id.to_ne_bytes()), blob);
                rusqlite::Connection::open(db)
                    .expect("open")
                    .execute(
                        "UPDATE objects SET blob = ?1, digest = ?2 WHERE id = ?3",
                        rusqlite::params![blob, check, id],
                    )
                    .expect("update the row");
            }
        }
    }
}

fn expected_ciphertext(key: &[u8; 32]) -> String {
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(key).expect("a 256-bit key");
    let mut buf = PLAINTEXT.to_vec();
    let tag = cipher
        .encrypt_inout_detached(&IV.into(), b"", buf.as_mut_slice().into())
        .expect("encrypt with the aes-gcm crate");
    buf.extend_from_slice(&tag);
    hex(&buf)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The return value's name, for a report.
fn rv_name(e: &cryptoki::error::Error) -> String {
    match e {
        cryptoki::error::Error::Pkcs11(rv, _) => format!("{rv:?}"),
        other => format!("{other}"),
    }
}

/// Reports, for each object the user sees (every one is a secret key), `label=ciphertext`,
/// with `unreadable(CKR)` for a label and `error(CKR)` for a ciphertext that failed.
fn probe(_: &str) {
    let ctx = load();
    let s = user_session(&ctx);
    for k in s.find_objects(&[]).expect("C_FindObjects") {
        let label = match s.get_attributes(k, &[AttributeType::Label]) {
            Ok(a) => match a.as_slice() {
                [Attribute::Label(l)] => String::from_utf8_lossy(l).into_owned(),
                _ => "?".into(),
            },
            Err(e) => format!("unreadable({})", rv_name(&e)),
        };
        let mut iv = IV;
        let params = GcmParams::new(&mut iv, b"", 128.into()).expect("params");
        match s.encrypt(&Mechanism::AesGcm(params), k, PLAINTEXT) {
            Ok(ct) => report(&format!("{label}={}", hex(&ct))),
            Err(e) => report(&format!("{label}=error({})", rv_name(&e))),
        }
    }
}

fn flipped_bytes_never_give_wrong_data() {
    let ctx = load();
    init_token(&ctx, storage_common::LABEL);
    let serial = token_serial(&ctx);
    let s = user_session(&ctx);
    aes_key(&s, "other", &OTHER, true);
    let before: Vec<String> = Record::all(&serial).iter().map(Record::key).collect();
    aes_key(&s, "target", &TARGET, true);
    drop(s);
    ctx.finalize().expect("C_Finalize");
    let target = Record::all(&serial)
        .into_iter()
        .find(|r| !before.contains(&r.key()))
        .expect("the target key's record is the new one");
    let original = target.blob();
    assert!(!contains(&original, b"target"), "a private object is sealed whole: its label is not in clear");

    let want_target = format!("target={}", expected_ciphertext(&TARGET));
    let want_other = format!("other={}", expected_ciphertext(&OTHER));
    // The control: intact, both keys encrypt as the aes-gcm crate does.
    let (ok, mut seen, log) = run_role_with("probe", "", &[]);
    assert!(ok, "the probe failed on the intact token:\n{log}");
    seen.sort();
    assert_eq!(seen, [want_other.clone(), want_target.clone()], "intact token");

    let stride = (original.len() / 96).max(1);
    let positions: Vec<usize> =
        (0..original.len()).filter(|i| i % stride == 0 || *i >= original.len() - 20).collect();
    for &at in &positions {
        let mut damaged = original.clone();
        damaged[at] ^= 0x01;
        target.put(&serial, &damaged);
        let (ok, mut seen, log) = run_role_with("probe", "", &[]);
        assert!(ok, "the probe failed with byte {at} flipped:\n{log}");
        seen.sort();
        // The damaged key is still listed, and answers CKR_DEVICE_ERROR to everything.
        assert_eq!(
            seen,
            [want_other.clone(), "unreadable(DeviceError)=error(DeviceError)".to_owned()],
            "byte {at} of {} flipped\n{log}",
            original.len()
        );
        let name = target.key();
        assert!(
            log.lines().any(|l| l.contains("WARN") && l.contains(&name)),
            "byte {at} flipped: no warning names the record {name}:\n{log}"
        );
        assert!(!log.to_lowercase().contains("panic"), "nothing panics:\n{log}");
    }
    target.put(&serial, &original);
    let (ok, mut seen, log) = run_role_with("probe", "", &[]);
    assert!(ok, "{log}");
    seen.sort();
    assert_eq!(seen, [want_other, want_target], "restored, the key works again");
    println!(
        "| {} of the {} bytes of a sealed record flipped in turn: each refused, none misread",
        positions.len(),
        original.len()
    );
}
