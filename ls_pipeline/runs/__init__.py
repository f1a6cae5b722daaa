"""Code that starts or drives Dagster: `ls-run`'s runs in this process, launching `dg dev`, waiting for pool slots,
finding stuck runs, the instance's run launcher and config. Nothing in defs/ imports it."""
