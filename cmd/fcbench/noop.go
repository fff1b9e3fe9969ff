package main

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// serveNoop is the custom runtime deployed by fcbench: it answers every
// invocation with "ok" (FC's custom-runtime protocol, spec §6.4), or sleeps
// first when the event is "sleep <duration>".
func serveNoop() int {
	port := os.Getenv("FC_CUSTOM_LISTEN_PORT")
	if port == "" {
		port = "9000"
	}
	srv := &http.Server{Addr: "0.0.0.0:" + port, Handler: http.HandlerFunc(noop), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		return 1
	}
	return 0
}

func noop(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if len(body) > 6 && string(body[:6]) == "sleep " {
		if sec, err := strconv.ParseFloat(string(body[6:]), 64); err == nil {
			time.Sleep(time.Duration(sec * float64(time.Second)))
		}
	}
	w.Write([]byte("ok"))
}
