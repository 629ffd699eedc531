//! rbgpd: the BGP daemon.

use anyhow::Context;
use bgpd::config;
use clap::Parser as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc: faster than glibc's malloc on the RIB's many small
/// allocations and, with the options of [`tune_allocator`], leaner.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Returns freed memory to the system after 2 ms and commits arena memory
/// only when used, so the peak RSS is close to what the daemon holds, not
/// what the allocator keeps around. (0 ms costs a `madvise` per free of a
/// large block: ~10 % of a table transfer; mimalloc's default of 10 ms
/// holds another 5-10 MiB at the peak.) It runs as an early constructor: mimalloc reads
/// its options (and `MIMALLOC_*` variables) when it starts, before `main`.
/// An option already set in the environment is left as the user set it.
extern "C" fn tune_allocator() {
    // Option numbers of `mi_option_e` in mimalloc.h (the same in v2 and v3;
    // the sys crate names only some of them).
    const OPTIONS: [(
        libmimalloc_sys::mi_option_t,
        &std::ffi::CStr,
        std::ffi::c_long,
    ); 2] = [
        (4, c"MIMALLOC_ARENA_EAGER_COMMIT", 0),
        (15, c"MIMALLOC_PURGE_DELAY", 2),
    ];
    for (option, var, value) in OPTIONS {
        // SAFETY: getenv with a NUL-terminated name, before any thread
        // exists; mi_option_set is a plain setter of a global option.
        unsafe {
            if libc::getenv(var.as_ptr()).is_null() {
                libmimalloc_sys::mi_option_set(option, value);
            }
        }
    }
}

/// Runs [`tune_allocator`] among the first constructors (priority 101).
#[used]
#[unsafe(link_section = ".init_array.00101")]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

fn main() -> ExitCode {
    let args = bgpd::cli::Args::parse();
    if let Some(bgpd::cli::Command::Migrate { file }) = &args.command {
        return migrate(file);
    }
    if let Some(path) = &args.replay {
        return replay(path);
    }
    if let Some(path) = &args.check_config {
        return match config::load(path) {
            Ok(cfg) => {
                println!(
                    "{}: OK (AS {}, router id {}, {} neighbor entries)",
                    path.display(),
                    cfg.router.asn,
                    cfg.router.router_id,
                    cfg.neighbors.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprint!("{}", e.render());
                ExitCode::FAILURE
            }
        };
    }
    let cfg = match config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // Before any thread starts: the threads inherit what is kept.
    let privileges = bgpd::privileges::keep_only_used();
    let opts = bgpd::daemon::Options {
        record: args.record,
        fib_off: None,
    };
    match run(cfg, args.config, opts, privileges) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rbgpd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `rbgpd migrate FILE`: the TOML on stdout, the notes on stderr.
fn migrate(path: &std::path::Path) -> ExitCode {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match bgpd::migrate::migrate(&text, &name) {
        Ok(m) => {
            print!("{}", m.toml);
            for n in &m.notes {
                let what = if n.untranslated {
                    "not translated: "
                } else {
                    ""
                };
                eprintln!("{name}:{}: {what}{}", n.line, n.message);
            }
            if m.incomplete() {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("{name}:{}: {}", e.line, e.message);
            ExitCode::from(2)
        }
    }
}

fn replay(path: &std::path::Path) -> ExitCode {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    match bgpd::core::record::replay(std::io::BufReader::new(file)) {
        Ok(stats) => {
            println!(
                "{}: replayed {} inputs, {} outputs as recorded",
                path.display(),
                stats.inputs,
                stats.outputs
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

fn run(
    cfg: config::Config,
    path: PathBuf,
    mut opts: bgpd::daemon::Options,
    privileges: Result<bgpd::privileges::Privileges, caps::errors::CapsError>,
) -> anyhow::Result<()> {
    bgpd::logging::init(&cfg.log).context("logging")?;
    opts.fib_off = bgpd::privileges::report(&cfg, privileges);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rbgpd")
        .build()
        .context("tokio runtime")?;
    rt.block_on(bgpd::daemon::run(cfg, path, opts))?;
    Ok(())
}
