package main

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
)

// memProfileRate is the runtime's default sampling rate (one sample per
// 512 KiB allocated), which main turns off unless --memprofile asks.
const memProfileRate = 512 << 10

// startCPUProfile writes a CPU profile to path until the returned function
// is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// writeMemProfile writes the allocation profile to path.
func writeMemProfile(path string, log *slog.Logger) {
	f, err := os.Create(path)
	if err != nil {
		log.Warn("memprofile", "err", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		log.Warn("memprofile", "err", err)
	}
}
