// Command fcserver is a custom-runtime function for openfc's tests: a static
// HTTP server on 0.0.0.0:$FC_CUSTOM_LISTEN_PORT speaking FC's custom-runtime
// protocol (spec §6.4). The tests build it with CGO_ENABLED=0 and ship it as
// the code package's bootstrap.
//
// Event invocations (x-fc-control-path /invoke) take a command as event,
// "name" or "name:arg", the same commands as the tests' Python and Node.js
// handlers: str:X, bytes, ctx, env, error, log, biglog, crash, oom, sleep:MS,
// count. /initialize sets the counter to 1. HTTP-trigger calls
// (/http-invoke) echo the request as JSON with status 202 and header
// X-Custom: yes; a path ending in /crash exits the process instead.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	counter atomic.Int64
	hog     [][]byte
	hogMu   sync.Mutex
)

// envNames are the variables the env command reports.
var envNames = []string{"FC_FUNC_CODE_PATH", "FC_ACCOUNT_ID", "FC_REGION", "FC_SERVICE_NAME", "FC_FUNCTION_NAME",
	"FC_FUNCTION_HANDLER", "FC_FUNCTION_MEMORY_SIZE", "FC_QUALIFIER", "FC_INSTANCE_ID", "FC_CUSTOM_LISTEN_PORT", "GREETING"}

func main() {
	port := os.Getenv("FC_CUSTOM_LISTEN_PORT")
	if port == "" {
		port = "9000"
	}
	if err := http.ListenAndServe("0.0.0.0:"+port, http.HandlerFunc(serve)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func serve(w http.ResponseWriter, r *http.Request) {
	rid := r.Header.Get("X-Fc-Request-Id")
	switch r.Header.Get("X-Fc-Control-Path") {
	case "/initialize":
		fmt.Printf("FC Initialize Start RequestId: %s\n", rid)
		counter.Store(1)
		fmt.Printf("FC Initialize End RequestId: %s\n", rid)
	case "/invoke":
		fmt.Printf("FC Invoke Start RequestId: %s\n", rid)
		event, _ := io.ReadAll(r.Body)
		invoke(w, r, string(event))
		fmt.Printf("FC Invoke End RequestId: %s\n", rid)
	case "/http-invoke":
		if strings.HasSuffix(r.URL.Path, "/crash") {
			os.Exit(2)
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Custom", "yes")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]string{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "uri": r.RequestURI,
			"basePath": r.Header.Get("X-Fc-Base-Path"), "host": r.Host, "body": string(body),
			"requestId": rid, "in": r.Header.Get("X-Custom-In"),
		})
	default:
		// /pre-stop, /pre-freeze
	}
}

func invoke(w http.ResponseWriter, r *http.Request, event string) {
	cmd, arg, _ := strings.Cut(event, ":")
	h := r.Header
	switch cmd {
	case "str":
		io.WriteString(w, "str "+arg)
	case "bytes":
		w.Write([]byte("\x00\xffbin"))
	case "ctx":
		num := func(k string) int { n, _ := strconv.Atoi(h.Get(k)); return n }
		json.NewEncoder(w).Encode(map[string]any{
			"requestId": h.Get("X-Fc-Request-Id"), "function": h.Get("X-Fc-Function-Name"),
			"handler": h.Get("X-Fc-Function-Handler"), "memory": num("X-Fc-Function-Memory"),
			"timeout": num("X-Fc-Function-Timeout"), "service": h.Get("X-Fc-Service-Name"),
			"qualifier": h.Get("X-Fc-Qualifier"), "versionId": h.Get("X-Fc-Version-Id"),
			"region": h.Get("X-Fc-Region"), "accountId": h.Get("X-Fc-Account-Id"),
		})
	case "env":
		env := map[string]string{}
		for _, k := range envNames {
			env[k] = os.Getenv(k)
		}
		json.NewEncoder(w).Encode(env)
	case "error":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"errorMessage":"boom","errorType":"Error"}`)
	case "log":
		fmt.Println("line one")
		fmt.Println("line two")
		io.WriteString(w, "logged")
	case "biglog":
		for i := range 200 {
			fmt.Printf("line %03d %s\n", i, strings.Repeat("x", 60))
		}
		io.WriteString(w, "logged")
	case "crash":
		os.Exit(3)
	case "oom":
		for {
			b := make([]byte, 16<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			hogMu.Lock()
			hog = append(hog, b)
			hogMu.Unlock()
		}
	case "sleep":
		ms, _ := strconv.Atoi(arg)
		time.Sleep(time.Duration(ms) * time.Millisecond)
		io.WriteString(w, "slept")
	case "count":
		io.WriteString(w, strconv.FormatInt(counter.Add(1), 10))
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"errorMessage":"unknown command `+cmd+`"}`)
	}
}
