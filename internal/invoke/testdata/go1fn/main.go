// Command go1fn is a go1 function for openfc's tests: it speaks FC's
// runtime API (spec §6.6) the way fc-runtime-go-sdk does, by hand, so the
// tests need no download. Events: "fail" answers an error, "crash" exits,
// "http" answers an HTTP call; anything else is echoed with the number of
// calls served and the initializer's mark.
package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	api := "http://" + os.Getenv("FC_RUNTIME_API") + "/2020-11-11/runtime/invocation/"
	calls, initialized := 0, "no"
	for {
		resp, err := http.Get(api + "next")
		if err != nil {
			fmt.Fprintln(os.Stderr, "next:", err)
			os.Exit(1)
		}
		event, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("x-fc-request-id")
		answer := func(what string, body []byte, h http.Header) {
			req, _ := http.NewRequest("POST", api+id+"/"+what, bytes.NewReader(body))
			for k, v := range h {
				req.Header[k] = v
			}
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				fmt.Fprintln(os.Stderr, "post:", err)
				os.Exit(1)
			}
			r.Body.Close()
			// As fc-runtime-go-sdk: only 200 is a successful post.
			if r.StatusCode != http.StatusOK {
				fmt.Fprintln(os.Stderr, "post answered", r.Status)
				os.Exit(1)
			}
		}
		switch resp.Header.Get("x-fc-function-type") {
		case "1":
			initialized = "yes"
			answer("response", nil, nil)
			continue
		case "2":
			fmt.Println("pre-stop ran")
			answer("response", nil, nil)
			continue
		}
		calls++
		fmt.Println("go1 log line", id)
		switch {
		case string(event) == "fail":
			answer("error", []byte(`{"errorMessage":"go1 failed","errorType":"errors.errorString"}`), nil)
		case string(event) == "crash":
			os.Exit(2)
		case resp.Header.Get("x-fc-http-params") != "":
			p, _ := base64.StdEncoding.DecodeString(resp.Header.Get("x-fc-http-params"))
			out := base64.StdEncoding.EncodeToString([]byte(`{"status":201,"headersMap":{"X-Go1":["yes"]}}`))
			answer("response", append([]byte("http "), p...), http.Header{"X-Fc-Http-Params": {out}})
		default:
			answer("response", []byte(fmt.Sprintf("go1 %s calls=%d init=%s env=%s deadline=%v", event, calls, initialized,
				os.Getenv("GREETING"), resp.Header.Get("x-fc-function-deadline") != "")), nil)
		}
	}
}
