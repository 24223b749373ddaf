# The two entry points of the README. Both work on a fresh Debian 12 machine with nothing but git:
#   make demo   set-up, configure, build, then `optidiff tour`
#   make test   set-up, configure, build, then the whole CTest suite
BUILD ?= build
JOBS ?= 2

.PHONY: demo test setup configure build clean

demo: build
	./$(BUILD)/tools/optidiff/optidiff tour

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) --timeout 900

setup:
	./scripts/setup

configure: setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j$(JOBS)

clean:
	rm -rf $(BUILD)
