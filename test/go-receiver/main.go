// go-receiver: a test backend that decodes what the collector ships with the
// backends' own Go code, and says what it saw at GET /summary.
//
//	POST /v1development/profiles          OTLP profiles (pdata's pprofileotlp, as the OpenTelemetry Collector)
//	POST /push.v1.PusherService/Push      Pyroscope push (the official connect handler and types)
//	POST /profiling/v1/input              dd-trace-go upload via an agent / DataKit (multipart)
//	POST /v1/input                        dd-trace-go agentless intake (multipart, DD-API-KEY)
//	POST /pprof                           one raw pprof (gzipped or not)
//	POST /control/otlp                    queue the next OTLP answers (status, Retry-After, partial success)
//	POST /reset                           forget every request and queued answer
//	GET  /summary[?stacks=1]              JSON of every decoded request
//
// Every pprof, wherever it comes from, goes through google/pprof's Parse and
// CheckValid (what `go tool pprof` and Pyroscope's ingester run).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
)

// maxBody bounds every request body (before and after Content-Encoding).
const maxBody = 64 << 20

// Request is one decoded request, as /summary shows it.
type Request struct {
	Seq          int               `json:"seq"`
	Kind         string            `json:"kind"`
	Path         string            `json:"path"`
	Headers      map[string]string `json:"headers"`
	Status       int               `json:"status"`
	WireBytes    int               `json:"wire_bytes"`
	DecodedBytes int               `json:"decoded_bytes"`
	Errors       []string          `json:"errors"`

	// OTLP
	Resources  []OtlpResource  `json:"resources,omitempty"`
	Dictionary *DictionarySize `json:"dictionary,omitempty"`
	Partial    *PartialAnswer  `json:"partial_success,omitempty"`

	// Pyroscope push
	Series []PushSeries `json:"series,omitempty"`

	// Multipart uploads (DataKit / Datadog)
	Event map[string]any  `json:"event,omitempty"`
	Parts []MultipartPart `json:"parts,omitempty"`

	// Plain pprof
	Pprof *PprofSummary `json:"pprof,omitempty"`
}

// The headers a test may want to see (values as sent; tests use fake secrets).
var recordedHeaders = []string{
	"Content-Type", "Content-Encoding", "User-Agent", "Authorization", "X-Scope-OrgID",
	"DD-API-KEY", "DD-EVP-ORIGIN", "DD-EVP-ORIGIN-VERSION", "X-Profile-Id",
	"Connect-Protocol-Version", "Otlp-Profiles-Development-Version",
}

func headersOf(h http.Header) map[string]string {
	out := map[string]string{}
	for _, k := range recordedHeaders {
		if v := h.Values(k); len(v) > 0 {
			out[http.CanonicalHeaderKey(k)] = v[0]
		}
	}
	return out
}

type store struct {
	mu       sync.Mutex
	requests []*Request
	answers  []OtlpAnswer
}

func (s *store) add(r *Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Seq = len(s.requests) + 1
	if r.Errors == nil {
		r.Errors = []string{}
	}
	s.requests = append(s.requests, r)
}

// nextAnswer pops the next queued OTLP answer; the zero answer is a plain 200.
func (s *store) nextAnswer() OtlpAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.answers) == 0 {
		return OtlpAnswer{}
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readBody reads a request body, bounded.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("body over %d bytes", maxBody)
	}
	return b, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()

	s := &store{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1development/profiles", s.handleOTLP)
	pushPath, pushHandler := newPushHandler(s)
	mux.Handle(pushPath, pushHandler)
	mux.HandleFunc("POST /profiling/v1/input", func(w http.ResponseWriter, r *http.Request) { s.handleMultipart(w, r, "dd_agent") })
	mux.HandleFunc("POST /v1/input", func(w http.ResponseWriter, r *http.Request) { s.handleMultipart(w, r, "dd_intake") })
	mux.HandleFunc("POST /pprof", s.handlePprof)
	mux.HandleFunc("POST /control/otlp", s.handleControl)
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		s.requests = nil
		s.answers = nil
		s.mu.Unlock()
		writeJSON(w, 200, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /summary", func(w http.ResponseWriter, r *http.Request) {
		stacks := r.URL.Query().Get("stacks") == "1"
		s.mu.Lock()
		out := make([]Request, len(s.requests))
		for i, req := range s.requests {
			out[i] = *req
			if !stacks {
				out[i].Resources = withoutStacks(req.Resources)
			}
		}
		s.mu.Unlock()
		writeJSON(w, 200, map[string]any{"requests": out})
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	line, _ := json.Marshal(map[string]any{"listening": "http://" + ln.Addr().String(), "pid": os.Getpid()})
	fmt.Println(string(line))
	srv := &http.Server{Handler: mux}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
