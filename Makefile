.PHONY: run test lint

run:  ## set up and run the app (web + worker + beat, demo data)
	./bin/run

test:  ## set up and run the whole test suite
	./bin/test

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
