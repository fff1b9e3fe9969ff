// Command go1echo is a go1 function for the Node SDK test: it pulls its
// invocations from FC's runtime API (spec §6.6), answers "go1 <event>",
// logs "go1 log <event>", and fails on the event "error".
package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	api := "http://" + os.Getenv("FC_RUNTIME_API") + "/2020-11-11/runtime/invocation/"
	for {
		resp, err := http.Get(api + "next")
		if err != nil {
			fmt.Fprintln(os.Stderr, "next:", err)
			os.Exit(1)
		}
		event, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("x-fc-request-id")
		what, body := "response", []byte("go1 "+string(event))
		if string(event) == "error" {
			what, body = "error", []byte(`{"errorMessage":"boom","errorType":"errors.errorString"}`)
		} else {
			fmt.Println("go1 log " + string(event))
		}
		if r, err := http.Post(api+id+"/"+what, "application/json", bytes.NewReader(body)); err == nil {
			r.Body.Close()
		}
	}
}
