//! Fuzz target: the channel between the launcher and the child stage
//! (channel.rs). The child stage decodes the plan from a descriptor, and
//! the launcher decodes what comes up the report pipe: bytes that are not
//! what the other side encoded must be an error, never a panic, a hang, a
//! huge allocation or a misread.
//!
//! Inputs are valid encodings (of arbitrary plans, errors, notices,
//! statuses, reached points and joined reports) mutated: bytes flipped, cut, spliced, duplicated, lengths and
//! counts overwritten. Properties:
//! - decoding ends, without panicking, holding at most a small multiple
//!   of the input's size;
//! - a plan that decodes is exactly the one its bytes encode: encoding it
//!   again gives the same bytes (no two byte strings read as one plan, so
//!   no field was silently truncated or skipped);
//! - decode(encode(p)) == p for arbitrary valid plans (the round trip in
//!   channel.rs's tests, with its prefixes refused).

use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;

use super::tests::arb_plan;
use super::{
    decode_error, decode_plan, decode_up, encode_error, encode_plan, encode_up, Point,
    ReportReceiver, Up,
};
use crate::error::{Error, Reason};
use crate::fuzz::check;
use crate::sys::alloc_meter;

#[derive(Debug, Clone)]
enum Mutation {
    Flip(f64, u8),
    Cut(f64),
    Insert(f64, Vec<u8>),
    /// Overwrite 4 bytes with a length or count.
    Length(f64, u32),
    /// Repeat a slice of the input.
    Dup(f64, f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0..1.0, 1u8..).prop_map(|(a, x)| Mutation::Flip(a, x)),
        (0.0..1.0).prop_map(Mutation::Cut),
        (0.0..1.0, prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        (
            0.0..1.0,
            prop_oneof![
                Just(u32::MAX),
                Just(1 << 31),
                Just(0),
                0u32..64,
                any::<u32>()
            ]
        )
            .prop_map(|(a, n)| Mutation::Length(a, n)),
        (0.0..1.0, 0.0..1.0).prop_map(|(a, b)| Mutation::Dup(a, b)),
    ]
}

fn mutate(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    let at = |b: &Vec<u8>, f: f64| ((b.len() as f64 * f) as usize).min(b.len());
    for m in ms {
        match m {
            Mutation::Flip(a, x) => {
                if !b.is_empty() {
                    let i = at(&b, *a).min(b.len() - 1);
                    b[i] ^= x;
                }
            }
            Mutation::Cut(a) => b.truncate(at(&b, *a)),
            Mutation::Insert(a, bytes) => {
                let i = at(&b, *a);
                b.splice(i..i, bytes.iter().copied());
            }
            Mutation::Length(a, n) => {
                let i = at(&b, *a).min(b.len().saturating_sub(4));
                let end = (i + 4).min(b.len());
                b[i..end].copy_from_slice(&n.to_le_bytes()[..end - i]);
            }
            Mutation::Dup(a, c) => {
                let (i, j) = (at(&b, a.min(*c)), at(&b, a.max(*c)));
                let piece = b[i..j].to_vec();
                b.splice(j..j, piece);
            }
        }
    }
    b
}

/// What decoding may hold at most for `len` input bytes: a plan's lists
/// hold structs a few times larger than their bytes on the wire.
fn bound(len: usize) -> usize {
    32 * len + (64 << 10)
}

fn plan_case(bytes: Vec<u8>) -> TestCaseResult {
    let (r, peak) = alloc_meter::peak(|| decode_plan(&bytes));
    prop_assert!(
        peak <= bound(bytes.len()),
        "decoding {} bytes held {peak}",
        bytes.len()
    );
    if let Ok(p) = r {
        let again = encode_plan(&p);
        let at = again.iter().zip(&bytes).position(|(a, b)| a != b);
        prop_assert!(
            again == bytes,
            "these bytes decoded to a plan that encodes otherwise (from byte {:?}: {:?} against {:?})",
            at,
            &bytes[at.unwrap_or(0)..][..8.min(bytes.len() - at.unwrap_or(0))],
            &again[at.unwrap_or(0)..][..8.min(again.len() - at.unwrap_or(0))]
        );
    }
    Ok(())
}

#[test]
fn mutated_plans() {
    let input = (arb_plan(), prop::collection::vec(mutation(), 1..4));
    check(file!(), 256, input, |(plan, ms)| {
        plan_case(mutate(encode_plan(&plan), &ms))
    });
}

fn arb_error() -> impl Strategy<Value = Error> {
    (
        ".{0,12}",
        prop::option::of(".{0,12}"),
        prop_oneof![
            any::<i32>().prop_map(Reason::Errno),
            ".{0,12}".prop_map(Reason::Msg)
        ],
        prop::option::of(".{0,12}"),
        any::<u8>(),
    )
        .prop_map(|(step, path, reason, hint, exit)| Error {
            step,
            path,
            reason,
            hint,
            exit,
        })
}

/// Any message the report pipe carries.
fn arb_up() -> impl Strategy<Value = Up> {
    prop_oneof![
        arb_error().prop_map(Up::Error),
        ".{0,12}".prop_map(Up::Notice),
        (any::<i32>(), any::<u32>()).prop_map(|(s, seen)| Up::Status(s, seen)),
        prop_oneof![
            Just(Point::Hooks),
            Just(Point::Ready),
            Just(Point::Isolated)
        ]
        .prop_map(Up::Reached),
        (1..i32::MAX, any::<[u64; 6]>())
            .prop_map(|(pid, namespaces)| Up::Joined { pid, namespaces }),
    ]
}

/// The report pipe's frames, mutated: whole messages or an error, never a
/// panic; what decodes is one its bytes encode (it re-encodes to the
/// same record).
#[test]
fn mutated_reports() {
    let input = (
        prop::collection::vec(arb_up(), 1..4),
        prop::collection::vec(mutation(), 0..4),
    );
    check(file!(), 256, input, |(ups, ms)| {
        let mut stream = Vec::new();
        for m in &ups {
            let rec = encode_up(m);
            prop_assert_eq!(decode_up(&rec), Ok(m.clone()));
            if let Up::Error(e) = m {
                prop_assert_eq!(decode_error(&encode_error(e)), Ok(e.clone()));
            }
            stream.extend_from_slice(&super::frame(&rec));
        }
        let stream = mutate(stream, &ms);
        let ((), peak) = alloc_meter::peak(|| {
            let _ = decode_up(&stream);
            let mut r = ReportReceiver::from_bytes(&stream);
            // Each message takes at least its 4-byte length: bounded.
            for _ in 0..=stream.len() / 4 {
                match r.next() {
                    // Canonical: it re-encodes to a valid record of itself.
                    Some(Ok(m)) => assert_eq!(decode_up(&encode_up(&m)), Ok(m)),
                    Some(Err(_)) => {}
                    None => break,
                }
            }
            assert!(r.next().is_none());
        });
        prop_assert!(peak <= bound(stream.len()) + (8 << 10));
        Ok(())
    });
}

/// Regressions the mutation property found: `cpus_milli` and `status_fd`
/// travelled as u64 and were cut to 32 bits, so bytes the launcher never
/// wrote read as another plan (both are launcher-only now and never cross
/// the pipe). The field still sent wider than it is kept, a pty's window
/// size (u16 sent as u32), is refused when too wide, not truncated.
#[test]
fn wide_fields_are_refused_not_truncated() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let plan = arb_plan().new_tree(&mut runner).unwrap().current();
    type Set = fn(&mut crate::plan::Plan, u16);
    let fields: [(&str, Set); 2] = [
        ("window size", |p, v| {
            let pty = p.pty.get_or_insert_with(|| crate::plan::PtyPlan {
                fds: 1,
                termios: Vec::new(),
                winsize: [0; 4],
            });
            pty.winsize = [v, 0, 0, 0];
        }),
        ("window size", |p, v| {
            let pty = p.pty.get_or_insert_with(|| crate::plan::PtyPlan {
                fds: 1,
                termios: Vec::new(),
                winsize: [0; 4],
            });
            pty.winsize = [0, 0, 0, v];
        }),
    ];
    for (name, set) in fields {
        let (mut a, mut b) = (plan.clone(), plan.clone());
        set(&mut a, 5);
        set(&mut b, 6);
        let (ea, eb) = (encode_plan(&a), encode_plan(&b));
        assert_eq!(decode_plan(&ea).as_ref(), Ok(&a));
        // The value's low byte; its u32 ends 3 bytes later.
        let at = ea.iter().zip(&eb).position(|(x, y)| x != y).unwrap();
        let mut wide = ea.clone();
        wide[at + 2] = 1;
        assert_eq!(decode_plan(&wide), Err(format!("bad {name}")), "{name}");
        // Control: the same byte within a u16 is another valid plan.
        let mut narrow = ea.clone();
        narrow[at + 1] = 1;
        assert!(decode_plan(&narrow).is_ok(), "{name}: control");
    }
}
