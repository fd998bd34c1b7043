//! Damage and a hostile environment (issue 5): a truncated record, a flipped byte, a record
//! copied from another token and a record of an unknown format version each give a log line
//! naming the file and an object that answers `CKR_DEVICE_ERROR` until it is destroyed
//! (which removes the record); the rest of the token keeps working and nothing panics;
//! metadata damaged while the token is in use gives `CKR_DEVICE_ERROR` for that token only;
//! files and directories get 0600 / 0700 (or what `umask` says); a token directory that
//! cannot be written is a clear error at `C_Initialize` naming the path. On the file and
//! SQLite stores.

mod storage_common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{AttributeType, ObjectHandle};
use cryptoki::session::UserType;

use storage_common::{
    USER_PIN, backend, create_data, data_labels, init_token, load, note, os_locking, pin, prepare_dir,
    record_check, report, run_role_with, scratch_dir, slot_by_label, token_dir,
};

const OTHER: &str = "other token";

#[test]
fn damage() {
    storage_common::main(
        "damage",
        &[
            (
                "damaged_records_are_named_and_answer_device_error",
                damaged_records_are_named_and_answer_device_error,
            ),
            ("metadata_damaged_in_use_is_a_device_error", metadata_damaged_in_use_is_a_device_error),
            ("files_get_owner_only_modes_or_the_umask", files_get_owner_only_modes_or_the_umask),
            (
                "unwritable_token_directory_is_named_at_initialize",
                unwritable_token_directory_is_named_at_initialize,
            ),
        ],
        &[("inspect", inspect), ("initialize", initialize), ("make_token", make_token)],
    );
}

fn serial(ctx: &Pkcs11, label: &str) -> String {
    let slot = slot_by_label(ctx, label).expect("the token");
    ctx.get_token_info(slot).expect("C_GetTokenInfo").serial_number().trim().to_owned()
}

/// The token with `labels` as its data objects, and the other token with one; their serials.
fn two_tokens(ctx: &Pkcs11, labels: &[&str]) -> (String, String) {
    let slot = init_token(ctx, storage_common::LABEL);
    let session = ctx.open_rw_session(slot).expect("C_OpenSession");
    for l in labels {
        create_data(&session, l).expect("C_CreateObject");
    }
    let other = init_token(ctx, OTHER);
    let session = ctx.open_rw_session(other).expect("C_OpenSession");
    create_data(&session, "o0").expect("C_CreateObject");
    (serial(ctx, storage_common::LABEL), serial(ctx, OTHER))
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where a record lives, for the log line that must name it.
enum Place {
    File(PathBuf),
    Row { db: PathBuf, id: i64 },
}

impl Place {
    /// The record of token `serial` holding `label` (public objects are stored in clear).
    fn of(serial: &str, label: &str) -> Place {
        let needle = label.as_bytes();
        if backend() == "sqlite" {
            let db = token_dir().join(format!("{serial}.sqlite"));
            let c = rusqlite::Connection::open(&db).expect("open the token database");
            let mut st = c.prepare("SELECT id, blob FROM objects").expect("query");
            let rows: Vec<(i64, Vec<u8>)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("rows")
                .map(|r| r.expect("a row"))
                .collect();
            let id = rows
                .iter()
                .find(|(_, b)| find(b, needle))
                .unwrap_or_else(|| panic!("no record holds {label}"))
                .0;
            Place::Row { db, id }
        } else {
            let objects = token_dir().join(serial).join("objects");
            let file = fs::read_dir(&objects)
                .expect("list the records")
                .map(|e| e.expect("an entry").path())
                .find(|p| find(&fs::read(p).expect("read a record"), needle))
                .unwrap_or_else(|| panic!("no record file holds {label}"));
            Place::File(file)
        }
    }

    /// What the log line must contain.
    fn named(&self) -> String {
        match self {
            Place::File(p) => p.display().to_string(),
            Place::Row { db, id } => {
                format!("{:016x} in {}", u64::from_ne_bytes(id.to_ne_bytes()), db.display())
            }
        }
    }

    fn conn(db: &Path) -> rusqlite::Connection {
        rusqlite::Connection::open(db).expect("open the token database")
    }

    /// The stored bytes (for a file: the whole file, frame included) and where the blob starts.
    fn read(&self) -> (Vec<u8>, usize) {
        match self {
            Place::File(p) => (fs::read(p).expect("read"), 20),
            Place::Row { db, id } => {
                let b = Self::conn(db)
                    .query_row("SELECT blob FROM objects WHERE id = ?1", [id], |r| r.get(0))
                    .expect("read the row");
                (b, 0)
            }
        }
    }

    fn write(&self, bytes: &[u8], digest: Option<&[u8]>) {
        match self {
            Place::File(p) => fs::write(p, bytes).expect("write"),
            Place::Row { db, id } => {
                let c = Self::conn(db);
                match digest {
                    None => {
                        c.execute("UPDATE objects SET blob = ?1 WHERE id = ?2", rusqlite::params![bytes, id])
                    }
                    Some(d) => c.execute(
                        "UPDATE objects SET blob = ?1, digest = ?2 WHERE id = ?3",
                        rusqlite::params![bytes, d, id],
                    ),
                }
                .expect("update the row");
            }
        }
    }

    fn exists(&self) -> bool {
        match self {
            Place::File(p) => p.exists(),
            Place::Row { db, id } => {
                Self::conn(db)
                    .query_row("SELECT count(*) FROM objects WHERE id = ?1", [id], |r| r.get::<_, i64>(0))
                    .expect("count the rows")
                    == 1
            }
        }
    }

    fn truncate(&self) {
        let (bytes, _) = self.read();
        self.write(&bytes[..bytes.len() / 2], None);
    }

    fn flip_byte_of(&self, label: &str) {
        let (mut bytes, _) = self.read();
        let at =
            bytes.windows(label.len()).position(|w| w == label.as_bytes()).expect("the label is in clear");
        bytes[at] ^= 0x01; // "d1" becomes "e1": a valid record with a wrong label, but for the check
        self.write(&bytes, None);
    }

    fn replace_with(&self, other: &Place) {
        match (self, other) {
            (Place::File(mine), Place::File(theirs)) => {
                fs::copy(theirs, mine).expect("copy the other token's record");
            }
            (Place::Row { .. }, Place::Row { db, id }) => {
                let (blob, digest): (Vec<u8>, Vec<u8>) = Self::conn(db)
                    .query_row("SELECT blob, digest FROM objects WHERE id = ?1", [id], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .expect("the other token's row");
                self.write(&blob, Some(&digest));
            }
            _ => unreachable!("one backend per scenario"),
        }
    }

    /// Rewrite the record as a newer anyhsm would: record format version 99, intact frame.
    fn make_future_version(&self, serial: &str) {
        let (bytes, start) = self.read();
        let mut blob = bytes[start..].to_vec();
        assert_eq!(&blob[..3], b"AHO", "an object record");
        blob[3] = 99;
        match self {
            Place::File(p) => {
                let name = p.file_stem().and_then(|s| s.to_str()).expect("a record file name");
                let id = u64::from_str_radix(name, 16).expect("a hex id");
                let mut file = b"AHF1".to_vec();
                file.extend(record_check(serial, id, &blob));
                file.extend(&blob);
                self.write(&file, None);
            }
            Place::Row { id, .. } => {
                let check = record_check(serial, u64::from_ne_bytes(id.to_ne_bytes()), &blob);
                self.write(&blob, Some(&check));
            }
        }
    }
}

fn damaged_records_are_named_and_answer_device_error() {
    let ctx = load();
    let labels = ["d0-truncated", "d1-flipped", "d2-copied", "d3-future", "d4-intact", "d5-intact"];
    let (mine, theirs) = two_tokens(&ctx, &labels);
    ctx.clone().finalize().expect("C_Finalize");

    let places: Vec<Place> = labels[..4].iter().map(|l| Place::of(&mine, l)).collect();
    places[0].truncate();
    places[1].flip_byte_of("d1-flipped");
    places[2].replace_with(&Place::of(&theirs, "o0"));
    places[3].make_future_version(&mine);

    let (ok, reports, log) = run_role_with("inspect", "", &[]);
    assert!(ok, "the inspecting process failed:\n{log}");
    assert_eq!(
        reports,
        [
            "mine=d4-intact,d5-intact",
            "after create=d4-intact,d5-intact,d6-new",
            "theirs=o0",
            // Unreadable records may have been private: only a logged-in user sees them.
            "public, all objects=3",
            "user, all objects=7, CKR_DEVICE_ERROR from 4, signing with one: DeviceError",
            "destroyed 4, all objects=3",
        ]
    );
    for (place, label) in places.iter().zip(labels) {
        let named = place.named();
        assert!(
            log.lines().any(|l| l.contains(&named) && l.contains("WARN")),
            "no warning names the record of {label} ({named}):\n{log}"
        );
    }
    assert!(log.contains("format version 99"), "the unknown version is named:\n{log}");
    assert!(!log.to_lowercase().contains("panic"), "nothing panics:\n{log}");
    println!("| damaged records named in warnings, answering CKR_DEVICE_ERROR until destroyed:");
    for l in log.lines().filter(|l| l.contains("CKR_DEVICE_ERROR")) {
        println!("|   {l}");
    }
    // Destroying the placeholders removed the damaged records themselves.
    for (place, label) in places.iter().zip(labels) {
        assert!(!place.exists(), "the record of {label} is still stored");
    }
    let (ok, reports, log) = run_role_with("inspect", "", &[]);
    assert!(ok, "the second inspecting process failed:\n{log}");
    assert!(
        reports.contains(&"user, all objects=4, CKR_DEVICE_ERROR from 0, signing with one: -".to_owned())
    );
    assert!(!log.contains("damaged"), "nothing damaged is left:\n{log}");
}

fn inspect(_: &str) {
    let ctx = load();
    let mine =
        ctx.open_rw_session(slot_by_label(&ctx, storage_common::LABEL).expect("the token")).expect("session");
    report(&format!("mine={}", data_labels(&mine).join(",")));
    create_data(&mine, "d6-new").expect("C_CreateObject on the damaged token");
    report(&format!("after create={}", data_labels(&mine).join(",")));
    let theirs = ctx.open_ro_session(slot_by_label(&ctx, OTHER).expect("the other token")).expect("session");
    report(&format!("theirs={}", data_labels(&theirs).join(",")));
    let all = mine.find_objects(&[]).expect("C_FindObjects");
    report(&format!("public, all objects={}", all.len()));

    mine.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login");
    let all = mine.find_objects(&[]).expect("C_FindObjects");
    let damaged: Vec<ObjectHandle> = all
        .iter()
        .copied()
        .filter(|h| match mine.get_attributes(*h, &[AttributeType::Label]) {
            Ok(_) => false,
            Err(Error::Pkcs11(RvError::DeviceError, _)) => true,
            Err(e) => panic!("C_GetAttributeValue: {e:?}"),
        })
        .collect();
    let sign = damaged.first().map_or("-".to_owned(), |h| {
        let r = mine.sign(&Mechanism::Sha256Hmac, *h, b"x");
        match r {
            Err(Error::Pkcs11(rv, _)) => format!("{rv:?}"),
            other => format!("{other:?}"),
        }
    });
    report(&format!(
        "user, all objects={}, CKR_DEVICE_ERROR from {}, signing with one: {sign}",
        all.len(),
        damaged.len()
    ));
    if !damaged.is_empty() {
        for h in &damaged {
            mine.destroy_object(*h).expect("C_DestroyObject of a damaged record's object");
        }
        let all = mine.find_objects(&[]).expect("C_FindObjects");
        report(&format!("destroyed {}, all objects={}", damaged.len(), all.len()));
    }
}

fn metadata_damaged_in_use_is_a_device_error() {
    let ctx = load();
    let (mine, _) = two_tokens(&ctx, &["m0"]);
    let my_session =
        ctx.open_ro_session(slot_by_label(&ctx, storage_common::LABEL).expect("mine")).expect("session");
    let their_session = ctx.open_ro_session(slot_by_label(&ctx, OTHER).expect("theirs")).expect("session");
    assert_eq!(data_labels(&my_session), ["m0"]);

    // Someone damages the metadata and moves the generation (as a write would).
    if backend() == "sqlite" {
        let c = rusqlite::Connection::open(token_dir().join(format!("{mine}.sqlite"))).expect("open");
        c.execute("UPDATE token SET generation = generation + 1, meta = X'41484d01'", []).expect("update");
    } else {
        let meta = token_dir().join(&mine).join("meta.bin");
        let mut bytes = fs::read(&meta).expect("read meta.bin");
        bytes[0] = bytes[0].wrapping_add(1);
        fs::write(&meta, &bytes).expect("write meta.bin");
    }
    let r = my_session.find_objects(&[]);
    assert!(matches!(r, Err(Error::Pkcs11(RvError::DeviceError, _))), "C_FindObjectsInit on it: {r:?}");
    assert_eq!(data_labels(&their_session), ["o0"], "the other token is untouched");
    drop((my_session, their_session));
    ctx.clone().finalize().expect("C_Finalize");

    // A new process: the damaged token is left out, named; the other works.
    let (ok, reports, log) = run_role_with("initialize", "", &[]);
    assert!(ok, "C_Initialize with a damaged token failed:\n{log}");
    assert_eq!(reports, ["ok", "tokens=other token"]);
    let named = if backend() == "sqlite" {
        token_dir().join(format!("{mine}.sqlite"))
    } else {
        token_dir().join(&mine).join("meta.bin")
    };
    assert!(log.contains(&named.display().to_string()), "the log names {}:\n{log}", named.display());
    assert!(!log.to_lowercase().contains("panic"), "{log}");
}

/// `C_Initialize` in this process's environment; reports its result and the token labels.
fn initialize(_: &str) {
    let ctx = Pkcs11::new(storage_common::module_path()).expect("load the module");
    match ctx.initialize(os_locking()) {
        Ok(()) => {
            report("ok");
            let mut labels: Vec<String> = ctx
                .get_slots_with_token()
                .expect("C_GetSlotList")
                .into_iter()
                .filter_map(|s| ctx.get_token_info(s).ok())
                .filter(|i| i.token_initialized())
                .map(|i| i.label().to_owned())
                .collect();
            labels.sort();
            report(&format!("tokens={}", labels.join(",")));
        }
        Err(Error::Pkcs11(rv, _)) => report(&format!("{rv:?}")),
        Err(e) => report(&format!("{e}")),
    }
}

fn make_token(_: &str) {
    let ctx = load();
    let slot = init_token(&ctx, "modes");
    create_data(&ctx.open_rw_session(slot).expect("session"), "x").expect("C_CreateObject");
    report("made");
}

/// Every file and directory under `dir` (not `dir` itself) with its mode.
fn modes_under(dir: &Path) -> Vec<(PathBuf, u32, bool)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).expect("list") {
        let p = e.expect("an entry").path();
        let m = fs::metadata(&p).expect("stat");
        out.push((p.clone(), m.permissions().mode() & 0o777, m.is_dir()));
        if m.is_dir() {
            out.extend(modes_under(&p));
        }
    }
    out
}

fn files_get_owner_only_modes_or_the_umask() {
    // Default: 0600 / 0700, for the token files the module made in the harness's directory.
    let (ok, _, log) = run_role_with("make_token", "", &[]);
    assert!(ok, "{log}");
    let all = modes_under(&token_dir());
    assert!(all.iter().any(|(_, _, d)| !d), "some files were made");
    for (p, mode, dir) in &all {
        assert_eq!(*mode, if *dir { 0o700 } else { 0o600 }, "{}", p.display());
    }

    // umask = "027": 0640 / 0750, the token directory itself included (the module makes it).
    let scratch = scratch_dir().join("umask");
    fs::create_dir(&scratch).expect("mkdir");
    let tokens = prepare_dir(&scratch, &backend(), "umask = \"027\"\n");
    fs::remove_dir(&tokens).expect("let the module create it");
    let conf = scratch.join("anyhsm.toml");
    let (ok, _, log) =
        run_role_with("make_token", "", &[("ANYHSM_CONF", &conf), ("ANYHSM_TOKEN_DIR", &tokens)]);
    assert!(ok, "{log}");
    assert_eq!(fs::metadata(&tokens).expect("stat").permissions().mode() & 0o777, 0o750);
    for (p, mode, dir) in modes_under(&tokens) {
        assert_eq!(mode, if dir { 0o750 } else { 0o640 }, "{}", p.display());
    }
    println!("| modes: 0600/0700 by default, 0640/0750 with umask = \"027\"");
}

fn unwritable_token_directory_is_named_at_initialize() {
    // Under a regular file: no one, not even root, can create it.
    let file = scratch_dir().join("a-file");
    fs::write(&file, b"not a directory").expect("write");
    let tokens = file.join("tokens");
    let (ok, reports, log) = run_role_with("initialize", "", &[("ANYHSM_TOKEN_DIR", &tokens)]);
    assert!(ok, "{log}");
    assert_eq!(reports, ["DeviceError"], "C_Initialize refuses");
    assert!(log.contains(&tokens.display().to_string()), "the log names {}:\n{log}", tokens.display());

    // An existing but immutable directory (chattr +i stops root too), where the file
    // system supports it.
    let frozen = scratch_dir().join("frozen");
    fs::create_dir(&frozen).expect("mkdir");
    let chattr = Command::new("chattr").arg("+i").arg(&frozen).output();
    if !chattr.as_ref().is_ok_and(|o| o.status.success()) {
        note("chattr +i is not available here: the immutable-directory case is skipped");
        return;
    }
    let (ok, reports, log) = run_role_with("initialize", "", &[("ANYHSM_TOKEN_DIR", &frozen)]);
    let _ = Command::new("chattr").arg("-i").arg(&frozen).status();
    assert!(ok, "{log}");
    assert_eq!(reports, ["DeviceError"], "C_Initialize refuses an immutable directory");
    assert!(log.contains(&frozen.display().to_string()) && log.contains("not writable"), "{log}");
    println!("| unwritable token directories: C_Initialize -> CKR_DEVICE_ERROR, the path in the log");
}
