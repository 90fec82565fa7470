.PHONY: run test bench demo-stream lint install

install:
	scripts/bootstrap.sh

run:
	scripts/run.sh

test:
	scripts/test.sh

bench:
	scripts/bench.sh

demo-stream:
	scripts/demo-stream.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports
