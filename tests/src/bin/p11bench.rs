//! `p11bench`: storage and crypto figures of any PKCS#11 module, as a Markdown table.
//!
//! ```text
//! p11bench MODULE.so [--objects N] [--create-budget SECONDS] [--tsv]
//! ```
//!
//! The module is configured by its own environment (`ANYHSM_CONF` / `ANYHSM_TOKEN_DIR`,
//! `SOFTHSM2_CONF`, …) and must have an uninitialised slot: the bench initialises a fresh
//! token there (SO PIN `87654321`, user PIN `12345678`), fills it with N (default 10,000)
//! public data objects, and measures:
//!
//! - `C_CreateObject` of token objects (what the store does to make them durable, fsync
//!   included), ops/s over the N creates;
//! - `C_Finalize` + `C_Initialize` with the N objects present, ms (and the time to the first
//!   answer of a search after it: some modules load lazily);
//! - finding one of the N by label (`C_FindObjectsInit` + `C_FindObjects` + `C_FindObjectsFinal`), µs;
//! - `C_Login` with the token's PIN KDF as the module makes it by default, ms;
//! - ECDSA P-256 key generation, sign, verify; AES-256-GCM on 1 MiB; HMAC-SHA256 on 64 bytes;
//!   RSA-2048 and Ed25519 sign/verify when the module lists those mechanisms.
//!
//! Crypto runs on session objects (no storage in the loop), each for about a second.
//! `scripts/bench.sh` runs it against anyhsm (both stores) and SoftHSM side by side.

use core::time::Duration;
use std::env;
use std::process::ExitCode;
use std::time::Instant;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

const SO_PIN: &str = "87654321";
const USER_PIN: &str = "12345678";
const LABEL: &str = "p11bench";
/// How long each crypto measurement runs.
const RUN: Duration = Duration::from_secs(1);
/// The DER OID of P-256 (CKA_EC_PARAMS).
const P256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// The DER printable string "edwards25519" (CKA_EC_PARAMS for Ed25519, as SoftHSM wants it).
const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";

type Fallible<T> = Result<T, Box<dyn core::error::Error>>;

struct Options {
    module: String,
    objects: usize,
    create_budget: Duration,
    tsv: bool,
}

fn options() -> Result<Options, String> {
    let mut args = env::args().skip(1);
    let mut o = Options {
        module: String::new(),
        objects: 10_000,
        create_budget: Duration::from_secs(600),
        tsv: false,
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--objects" => o.objects = args.next().and_then(|v| v.parse().ok()).ok_or("--objects N")?,
            "--create-budget" => {
                o.create_budget = Duration::from_secs(
                    args.next().and_then(|v| v.parse().ok()).ok_or("--create-budget SECONDS")?,
                );
            }
            "--tsv" => o.tsv = true,
            _ if o.module.is_empty() && !a.starts_with('-') => o.module = a,
            _ => return Err(format!("unexpected argument {a}")),
        }
    }
    if o.module.is_empty() {
        return Err("usage: p11bench MODULE.so [--objects N] [--create-budget SECONDS] [--tsv]".into());
    }
    Ok(o)
}

/// One line of the result table.
struct Row {
    key: &'static str,
    what: String,
    value: String,
}

struct Bench {
    ctx: Pkcs11,
    rows: Vec<Row>,
}

impl Bench {
    fn add(&mut self, key: &'static str, what: impl Into<String>, value: String) {
        let what = what.into();
        eprintln!("p11bench: {what}: {value}");
        self.rows.push(Row { key, what, value });
    }

    fn slot(&self) -> Fallible<Slot> {
        self.ctx
            .get_slots_with_token()?
            .into_iter()
            .find(|s| self.ctx.get_token_info(*s).is_ok_and(|i| i.label() == LABEL))
            .ok_or_else(|| "the bench token is not listed".into())
    }
}

fn pin(s: &str) -> AuthPin {
    AuthPin::new(s.into())
}

fn init_args() -> CInitializeArgs {
    CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs `op` for about [`RUN`]; operations per second.
fn rate(mut op: impl FnMut() -> Fallible<()>) -> Fallible<f64> {
    op()?; // warm up (and fail early)
    let started = Instant::now();
    let mut n = 0u32;
    while started.elapsed() < RUN {
        op()?;
        n += 1;
    }
    Ok(f64::from(n) / started.elapsed().as_secs_f64())
}

fn per_s(r: f64) -> String {
    if r >= 100.0 { format!("{r:.0} ops/s") } else { format!("{r:.1} ops/s") }
}

fn main() -> ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(rows) => {
            if o.tsv {
                for r in rows {
                    println!("{}\t{}\t{}", r.key, r.what, r.value);
                }
            } else {
                println!("| measurement | {} |\n|---|---|", o.module);
                for r in rows {
                    println!("| {} | {} |", r.what, r.value);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("p11bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(o: &Options) -> Fallible<Vec<Row>> {
    let ctx = Pkcs11::new(&o.module)?;
    ctx.initialize(init_args())?;
    let mut b = Bench { ctx, rows: Vec::new() };

    // A fresh token in the (last) uninitialised slot.
    let empty = *b
        .ctx
        .get_all_slots()?
        .iter()
        .rev()
        .find(|s| b.ctx.get_token_info(**s).is_ok_and(|i| !i.token_initialized()))
        .ok_or("no uninitialised slot")?;
    let started = Instant::now();
    b.ctx.init_token(empty, &pin(SO_PIN), LABEL)?;
    let slot = b.slot()?;
    {
        let s = b.ctx.open_rw_session(slot)?;
        s.login(UserType::So, Some(&pin(SO_PIN)))?;
        s.init_pin(&pin(USER_PIN))?;
        s.logout()?;
    }
    b.add("init", "C_InitToken + C_InitPIN (default PIN KDF)", ms(started.elapsed()));

    // C_Login, default KDF profile: the median of 5.
    let mut logins = Vec::new();
    {
        let s = b.ctx.open_rw_session(slot)?;
        for _ in 0..5 {
            let t = Instant::now();
            s.login(UserType::User, Some(&pin(USER_PIN)))?;
            logins.push(t.elapsed());
            s.logout()?;
        }
    }
    b.add("login", "C_Login (user, default PIN KDF), median of 5", ms(median(logins)));

    // N token objects.
    let created = {
        let s = b.ctx.open_rw_session(slot)?;
        let started = Instant::now();
        let mut n = 0;
        while n < o.objects && started.elapsed() < o.create_budget {
            create_data(&s, n)?;
            n += 1;
        }
        let rate = f64::from(u32::try_from(n)?) / started.elapsed().as_secs_f64();
        b.add("create", format!("C_CreateObject, token data object ({n} in a row)"), per_s(rate));
        n
    };

    // C_Finalize + C_Initialize with them present.
    let mut inits = Vec::new();
    let mut first_finds = Vec::new();
    for _ in 0..3 {
        b.ctx.clone().finalize()?;
        let t = Instant::now();
        b.ctx.initialize(init_args())?;
        inits.push(t.elapsed());
        let slot = b.slot()?;
        let s = b.ctx.open_ro_session(slot)?;
        let found = s.find_objects(&[Attribute::Label(label(created / 2))])?;
        first_finds.push(t.elapsed());
        if found.len() != 1 {
            return Err(format!("found {} objects labelled {}", found.len(), created / 2).into());
        }
    }
    b.add("initialize", format!("C_Initialize with {created} objects, median of 3"), ms(median(inits)));
    b.add(
        "first_find",
        format!("C_Initialize → first find by label answered ({created} objects)"),
        ms(median(first_finds)),
    );

    // Find one of N by label.
    let slot = b.slot()?;
    {
        let s = b.ctx.open_ro_session(slot)?;
        let mut times = Vec::new();
        let mut x: usize = 12345;
        for _ in 0..200 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345) % created.max(1);
            let t = Instant::now();
            let found = s.find_objects(&[Attribute::Label(label(x))])?;
            times.push(t.elapsed());
            if found.len() != 1 {
                return Err(format!("found {} objects labelled {x}", found.len()).into());
            }
        }
        let m = median(times);
        b.add(
            "find",
            format!("find 1 of {created} by label (Init+Find+Final), median of 200"),
            format!("{:.0} µs", m.as_secs_f64() * 1e6),
        );
    }

    crypto(&mut b, slot)?;
    Ok(b.rows)
}

fn label(n: usize) -> Vec<u8> {
    format!("bench object {n:06}").into_bytes()
}

fn create_data(s: &Session, n: usize) -> Fallible<ObjectHandle> {
    Ok(s.create_object(&[
        Attribute::Class(ObjectClass::DATA),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Label(label(n)),
        Attribute::Value(vec![0x5a; 64]),
    ])?)
}

fn crypto(b: &mut Bench, slot: Slot) -> Fallible<()> {
    let mechs = b.ctx.get_mechanism_list(slot)?;
    let has = |m: MechanismType| mechs.contains(&m);
    let s = b.ctx.open_rw_session(slot)?;
    s.login(UserType::User, Some(&pin(USER_PIN)))?;

    // ECDSA P-256.
    let ec_pair = |s: &Session| {
        s.generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[Attribute::Token(false), Attribute::EcParams(P256.to_vec()), Attribute::Verify(true)],
            &[
                Attribute::Token(false),
                Attribute::Private(true),
                Attribute::Sign(true),
                Attribute::Sensitive(true),
            ],
        )
    };
    let r = rate(|| {
        let (public, private) = ec_pair(&s)?;
        s.destroy_object(public)?;
        s.destroy_object(private)?;
        Ok(())
    })?;
    b.add("ec_keygen", "ECDSA P-256 key pair generation", per_s(r));
    let (public, private) = ec_pair(&s)?;
    let hash = [0x42u8; 32];
    let sig = s.sign(&Mechanism::Ecdsa, private, &hash)?;
    b.add(
        "ec_sign",
        "ECDSA P-256 sign (CKM_ECDSA, 32-byte hash)",
        per_s(rate(|| {
            s.sign(&Mechanism::Ecdsa, private, &hash)?;
            Ok(())
        })?),
    );
    b.add(
        "ec_verify",
        "ECDSA P-256 verify",
        per_s(rate(|| Ok(s.verify(&Mechanism::Ecdsa, public, &hash, &sig)?))?),
    );

    // AES-256-GCM, 1 MiB.
    let aes = s.generate_key(
        &Mechanism::AesKeyGen,
        &[
            Attribute::Token(false),
            Attribute::ValueLen(32.into()),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
        ],
    )?;
    let mib = vec![0x17u8; 1 << 20];
    let r = rate(|| {
        let mut iv = [9u8; 12];
        let params = GcmParams::new(&mut iv, b"", 128.into())?;
        let _ = s.encrypt(&Mechanism::AesGcm(params), aes, &mib)?;
        Ok(())
    })?;
    b.add("aes_gcm", "AES-256-GCM encrypt, 1 MiB", format!("{r:.0} MB/s"));

    // HMAC-SHA256, 64 bytes.
    let hmac_key = s.create_object(&[
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Token(false),
        Attribute::Sign(true),
        Attribute::Verify(true),
        Attribute::Value(vec![0x0b; 32]),
    ])?;
    let msg = [0x61u8; 64];
    b.add(
        "hmac",
        "HMAC-SHA256 sign, 64 bytes",
        per_s(rate(|| {
            s.sign(&Mechanism::Sha256Hmac, hmac_key, &msg)?;
            Ok(())
        })?),
    );

    // RSA-2048, when listed.
    if has(MechanismType::RSA_PKCS_KEY_PAIR_GEN) && has(MechanismType::SHA256_RSA_PKCS) {
        let (public, private) = s.generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &[
                Attribute::Token(false),
                Attribute::ModulusBits(2048.into()),
                Attribute::PublicExponent(vec![1, 0, 1]),
                Attribute::Verify(true),
            ],
            &[
                Attribute::Token(false),
                Attribute::Private(true),
                Attribute::Sign(true),
                Attribute::Sensitive(true),
            ],
        )?;
        let sig = s.sign(&Mechanism::Sha256RsaPkcs, private, &msg)?;
        b.add(
            "rsa_sign",
            "RSA-2048 sign (CKM_SHA256_RSA_PKCS)",
            per_s(rate(|| {
                s.sign(&Mechanism::Sha256RsaPkcs, private, &msg)?;
                Ok(())
            })?),
        );
        b.add(
            "rsa_verify",
            "RSA-2048 verify",
            per_s(rate(|| Ok(s.verify(&Mechanism::Sha256RsaPkcs, public, &msg, &sig)?))?),
        );
    } else {
        b.add("rsa_sign", "RSA-2048 sign (CKM_SHA256_RSA_PKCS)", "not listed".into());
    }

    // Ed25519, when listed.
    if has(MechanismType::ECC_EDWARDS_KEY_PAIR_GEN) && has(MechanismType::EDDSA) {
        let pair = s.generate_key_pair(
            &Mechanism::EccEdwardsKeyPairGen,
            &[Attribute::Token(false), Attribute::EcParams(ED25519_NAME.to_vec()), Attribute::Verify(true)],
            &[
                Attribute::Token(false),
                Attribute::Private(true),
                Attribute::Sign(true),
                Attribute::Sensitive(true),
            ],
        );
        match pair {
            Ok((public, private)) => {
                let eddsa = || Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
                let sig = s.sign(&eddsa(), private, &msg)?;
                b.add(
                    "ed_sign",
                    "Ed25519 sign, 64 bytes",
                    per_s(rate(|| {
                        s.sign(&eddsa(), private, &msg)?;
                        Ok(())
                    })?),
                );
                b.add(
                    "ed_verify",
                    "Ed25519 verify",
                    per_s(rate(|| Ok(s.verify(&eddsa(), public, &msg, &sig)?))?),
                );
            }
            Err(e) => b.add("ed_sign", "Ed25519 sign, 64 bytes", format!("key generation failed: {e}")),
        }
    } else {
        b.add("ed_sign", "Ed25519 sign, 64 bytes", "not listed".into());
    }
    Ok(())
}
