// Command fcbench measures a running openfc through its public API: warm
// invocation latency and throughput at several concurrencies, cold starts
// per runtime, and scale-out from zero, each beside a baseline measured in
// the same run (a bare Go HTTP server doing the same work over loopback
// TCP). It prints a table and can write the figures as JSON. Its modes
// "flow" (aliases, flow control, provisioning), "async" (durable enqueue)
// and "ab" (two nodes compared in alternating slices) measure the later
// issues' targets.
//
// Run as "bootstrap" (the name of a custom runtime's program), the binary
// is instead the noop custom-runtime server that the benchmark deploys, so
// one static binary serves both ends.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	if filepath.Base(os.Args[0]) == "bootstrap" {
		os.Exit(serveNoop())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "flow" {
		if err := runFlow(ctx, os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "fcbench flow:", err)
			os.Exit(1)
		}
		return
	}
	run := run
	if len(os.Args) > 1 && os.Args[1] == "async" {
		run, os.Args = runAsync, os.Args[1:]
	}
	if len(os.Args) > 1 && os.Args[1] == "ab" {
		run, os.Args = runAB, os.Args[1:]
	}
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fcbench:", err)
		os.Exit(1)
	}
}
