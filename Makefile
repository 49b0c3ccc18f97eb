# newsriver: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
CONFIG ?=
RUN_ARGS ?=


.PHONY: deps all build run once test lint fmt eval eval-peers eval-cv eval-stories train bench-compare bench-feeds bench-e2e bench-warc bench-soak bench-stress fuzz clean

# The development sets (see ../shared/eval/*/README.md), where `make eval` keeps its
# outputs, and the venv of the peer extractors it compares against.
EVAL ?= ../shared/eval
EVAL_OUT ?= $${CARGO_TARGET_DIR:-target}/eval
EVAL_VENV ?= $(HOME)/.cache/newsriver/eval-venv
EVAL_ARGS ?=

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release --locked

## Build and run the daemon on the embedded default config (Ctrl-C stops it cleanly).
## Articles go to stdout as JSON lines; logs to stderr; state to ./data/.
run: deps
	@$(CARGO) run --release --locked --bin newsriver -- $(if $(CONFIG),--config $(CONFIG)) run $(RUN_ARGS)

## Poll every configured feed once and exit.
once:
	$(MAKE) run RUN_ARGS=--once

## Unit and integration tests (integration tests start their own servers on 127.0.0.1).
## Ends with one summary line, "tests: N passed, N failed, N skipped": a test whose
## component (tansu, chromium, wget, the shared dev sets) is missing reports itself ignored in cargo's own
## "test result:" line (tests/kafka.rs and crates/bench/tests/accuracy.rs decide at run
## time, with libtest-mimic; so do tests/status_page.rs and tests/warc.rs), and skipped
## sums those ignored counts.
test: deps
	set -o pipefail; { $(CARGO) test --workspace --locked -- --show-output && \
	  $(CARGO) test -p newsriver-dedup --features clearurls --locked --lib; } 2>&1 | awk '{ print } \
	  /^test result:/ { passed += $$4; failed += $$6; skipped += $$8 } \
	  END { printf "\ntests: %d passed, %d failed, %d skipped\n", passed, failed, skipped }'

## What CI checks besides the tests.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) clippy -p newsriver --features clearurls --all-targets --locked -- -D warnings

## The peers' outputs for `eval` and `bench-compare`: resiliparse 2.0.0 and trafilatura 2.0.0
## (from PyPI into $(EVAL_VENV)) over the three dev sets into $(EVAL_OUT), one core, each
## timed by the rule newsriver is: from bytes (charset decoding included), total wall time
## of a loop over a set's pages, best of three loops.
EVAL_PEERS = --peer $(EVAL_OUT)/resiliparse-2.0.0.jsonl --peer-name resiliparse \
  --peer $(EVAL_OUT)/trafilatura-2.0.0.jsonl --peer-name trafilatura
eval-peers: deps
	$(CARGO) build --release --locked -p newsriver-bench --bin eval
	mkdir -p $(EVAL_OUT)
	taskset -c 0 $$(scripts/eval-venv.sh $(EVAL_VENV)) crates/bench/scripts/resiliparse_eval.py \
	  --eval $(EVAL) --out $(EVAL_OUT)/resiliparse-2.0.0.jsonl
	taskset -c 0 $$(scripts/eval-venv.sh $(EVAL_VENV)) crates/bench/scripts/trafilatura_eval.py \
	  --eval $(EVAL) --out $(EVAL_OUT)/trafilatura-2.0.0.jsonl

## Stripper accuracy on the three dev sets of $(EVAL) (aeb, readability, trafilatura), newsriver,
## resiliparse 2.0.0 and trafilatura 2.0.0 side by side in one run, one core: P/R/F1, empty
## extractions, the worst pages, metadata per field, speed, a summary line per set.
eval: eval-peers
	taskset -c 0 $${CARGO_TARGET_DIR:-target}/release/eval --eval $(EVAL) $(EVAL_PEERS) \
	  --worst 10 $(EVAL_ARGS)

## Speed and F1 of newsriver, resiliparse 2.0.0 and trafilatura 2.0.0 on the same pages, one
## core (taskset -c 0), one rule on every side: from bytes, total wall time over all pages of
## a set, best of three loops. The same run as `make eval` without the worst pages; it ends
## with one line per set: F1 and pages/s of each.
bench-compare: eval-peers
	taskset -c 0 $${CARGO_TARGET_DIR:-target}/release/eval --eval $(EVAL) $(EVAL_PEERS) \
	  --worst 0 $(EVAL_ARGS)

## The stripper's block classifier: export features and labels from the dev sets, train
## (scikit-learn, in $(EVAL_VENV)) and write crates/stripper/model/blocks.json. Deterministic.
train: deps
	$(CARGO) build --release --locked -p newsriver-bench --bin blockdata
	$${CARGO_TARGET_DIR:-target}/release/blockdata --eval $(EVAL) --out $(EVAL_OUT)/blocks
	$$(scripts/eval-venv.sh $(EVAL_VENV) train) crates/bench/scripts/train_blocks.py \
	  --data $(EVAL_OUT)/blocks --out crates/stripper/model/blocks.json

## Held-out accuracy of the classifier: 5-fold cross-validation grouped by site (each page
## scored by a model that never saw its site) and leave-one-set-out, beside trafilatura.
eval-cv: deps
	$(CARGO) build --release --locked -p newsriver-bench --bin blockdata --bin eval
	mkdir -p $(EVAL_OUT)
	$${CARGO_TARGET_DIR:-target}/release/blockdata --eval $(EVAL) --out $(EVAL_OUT)/blocks
	$$(scripts/eval-venv.sh $(EVAL_VENV) train) crates/bench/scripts/train_blocks.py \
	  --data $(EVAL_OUT)/blocks --out $(EVAL_OUT)/blocks/all.json \
	  --site-folds $(EVAL_OUT)/site-folds --folds $(EVAL_OUT)/set-folds
	test -s $(EVAL_OUT)/trafilatura-2.0.0.jsonl || taskset -c 0 $$(scripts/eval-venv.sh $(EVAL_VENV)) \
	  crates/bench/scripts/trafilatura_eval.py --eval $(EVAL) --out $(EVAL_OUT)/trafilatura-2.0.0.jsonl
	$${CARGO_TARGET_DIR:-target}/release/eval --eval $(EVAL) --classifier folds:$(EVAL_OUT)/site-folds \
	  --peer $(EVAL_OUT)/trafilatura-2.0.0.jsonl --worst 5 --repeat 0
	for s in aeb readability trafilatura; do \
	  $${CARGO_TARGET_DIR:-target}/release/eval --eval $(EVAL) --sets $$s --worst 0 --repeat 0 \
	    --classifier $(EVAL_OUT)/set-folds/without-$$s.json | sed "s/newsriver /trained without $$s:/"; \
	done

## Feed polling at scale: 10,000 local feeds polled by the daemon (feeds/s, CPU, RSS);
## feed parsing: feeds/s over the wild-feed fixtures, items/s over a 10,000-item feed.
bench-feeds: deps
	$(CARGO) build --release --locked -p newsriver -p newsriver-bench
	$${CARGO_TARGET_DIR:-target}/release/feedscale --feeds 10000
	$${CARGO_TARGET_DIR:-target}/release/feedbench

## End to end, one core: the daemon polls one local feed listing E2E_ITEMS new items (short
## templated report pages) and fetches them all, then a backfill of as many URLs; overall
## articles/s, the first and last tenth, CPU per article. E2E_ITEMS=5000 is a quick check.
E2E_ITEMS ?= 200000
E2E_CPU ?= 1
## WARC backfill speed: a WARC of WARC_RECORDS archived news pages (about 40 KB each, gzip
## per record) to JSON lines, on one core with one strip worker and on every core; prints
## records/s, pages/s, articles/s, CPU and peak RSS, and the every-core/one-core ratio.
WARC_RECORDS ?= 5000
bench-warc: deps
	$(CARGO) build --release --locked -p newsriver -p newsriver-bench
	$${CARGO_TARGET_DIR:-target}/release/warcbench --records $(WARC_RECORDS)

bench-e2e: deps
	$(CARGO) build --release --locked -p newsriver -p newsriver-bench
	taskset -c $(E2E_CPU) $${CARGO_TARGET_DIR:-target}/release/e2ebench feed --items $(E2E_ITEMS)
	taskset -c $(E2E_CPU) $${CARGO_TARGET_DIR:-target}/release/e2ebench backfill --items $(E2E_ITEMS)

## Memory soak: the running daemon on a live feed gaining SOAK_RATE items/s until
## SOAK_ITEMS articles came out; RSS sampled over time, bytes per remembered article.
SOAK_ITEMS ?= 100000
SOAK_RATE ?= 400
bench-soak: deps
	$(CARGO) build --release --locked -p newsriver -p newsriver-bench
	taskset -c $(E2E_CPU) $${CARGO_TARGET_DIR:-target}/release/e2ebench soak --items $(SOAK_ITEMS) --rate $(SOAK_RATE)
	$${CARGO_TARGET_DIR:-target}/release/dedupbench --story-memory $(SOAK_ITEMS)
	$${CARGO_TARGET_DIR:-target}/release/dedupbench --index-size $(SOAK_ITEMS)

## Stripper on hostile input: 20 MB page, 100k nesting, binary, malformed (time, peak RSS).
## Story grouping: the built-in labelled set (AEB articles and the seeds), then the
## stories-ecbplus dev set with no times, the threshold also chosen out of fold by topic.
eval-stories: deps
	$(CARGO) build --release --locked -p newsriver-bench --bin stories
	$${CARGO_TARGET_DIR:-target}/release/stories --data $(EVAL)/aeb
	$${CARGO_TARGET_DIR:-target}/release/stories --jsonl $(EVAL)/stories-ecbplus/articles.jsonl \
	  --no-time --cv-topics 5

bench-stress: deps
	$(CARGO) run --release --locked -p newsriver-bench --bin stress

## Fuzz decode + extract + fingerprint for FUZZ_SECONDS (needs cargo-fuzz; uses the
## stable toolchain with RUSTC_BOOTSTRAP for the sanitizer flags).
FUZZ_SECONDS ?= 300
fuzz: deps
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	mkdir -p fuzz/corpus/extract && cp -n tests/fixtures/site/*.html tests/fixtures/multilingual/pages/*.html fuzz/corpus/extract/
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run extract -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run normalize -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
