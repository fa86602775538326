// dd-trace-go's upload format (multipart: one part per profile file, then
// event.json), as a Datadog Agent or DataKit takes it at /profiling/v1/input
// and as Datadog's agentless intake takes it with DD-API-KEY. Parsed by Go's
// mime/multipart and checked strictly: every part named, the attachments
// list naming exactly the file parts, times in RFC 3339, every pprof valid.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

type MultipartPart struct {
	Name        string        `json:"name"`
	Filename    string        `json:"filename"`
	ContentType string        `json:"content_type"`
	Bytes       int           `json:"bytes"`
	Pprof       *PprofSummary `json:"pprof,omitempty"`
}

func (s *store) handleMultipart(w http.ResponseWriter, r *http.Request, kind string) {
	req := &Request{Kind: kind, Path: r.URL.Path, Headers: headersOf(r.Header)}
	errs := func(format string, args ...any) { req.Errors = append(req.Errors, fmt.Sprintf(format, args...)) }
	body, err := readBody(r)
	if err != nil {
		errs("%v", err)
	}
	req.WireBytes = len(body)
	req.DecodedBytes = len(body)
	if kind == "dd_intake" && strings.TrimSpace(r.Header.Get("DD-API-KEY")) == "" {
		errs("no DD-API-KEY header: the agentless intake refuses the upload")
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		errs("Content-Type %q is not multipart/form-data with a boundary", r.Header.Get("Content-Type"))
	} else {
		s.readParts(multipart.NewReader(bytes.NewReader(body), params["boundary"]), req, errs)
	}
	if req.Event != nil {
		checkEvent(req, kind, errs)
	} else if len(req.Errors) == 0 {
		errs("no event part (name=\"event\", filename=\"event.json\")")
	}
	if len(req.Errors) > 0 {
		req.Status = 400
		s.add(req)
		http.Error(w, strings.Join(req.Errors, "; "), 400)
		return
	}
	req.Status = 200
	if kind == "dd_intake" {
		req.Status = 202
	}
	s.add(req)
	w.WriteHeader(req.Status)
}

func (s *store) readParts(mr *multipart.Reader, req *Request, errs func(string, ...any)) {
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			errs("multipart: %v", err)
			return
		}
		data, err := io.ReadAll(io.LimitReader(p, maxBody))
		if err != nil {
			errs("multipart part: %v", err)
			return
		}
		part := MultipartPart{Name: p.FormName(), Filename: p.FileName(), ContentType: p.Header.Get("Content-Type"), Bytes: len(data)}
		if part.Name == "" || part.Filename == "" {
			errs("a part without name or filename (%q)", p.Header.Get("Content-Disposition"))
		}
		if part.Name == "event" {
			if part.Filename != "event.json" || part.ContentType != "application/json" {
				errs("event part: filename %q, content type %q; want event.json, application/json", part.Filename, part.ContentType)
			}
			if req.Event != nil {
				errs("a second event part")
			}
			var ev map[string]any
			if err := json.Unmarshal(data, &ev); err != nil {
				errs("event.json: %v", err)
			} else {
				req.Event = ev
			}
		} else {
			if part.ContentType != "application/octet-stream" {
				errs("part %q: content type %q, want application/octet-stream", part.Name, part.ContentType)
			}
			if part.Name != part.Filename {
				errs("part %q has filename %q: dd-trace-go names both alike", part.Name, part.Filename)
			}
			part.Pprof = summarizePprof(data)
			if e := pprofErr("part "+part.Name, part.Pprof); e != "" {
				errs("%s", e)
			}
		}
		req.Parts = append(req.Parts, part)
	}
}

func checkEvent(req *Request, kind string, errs func(string, ...any)) {
	ev := req.Event
	var files []string
	for _, p := range req.Parts {
		if p.Name != "event" {
			files = append(files, p.Filename)
		}
	}
	att, _ := ev["attachments"].([]any)
	var names []string
	for _, a := range att {
		s, _ := a.(string)
		names = append(names, s)
	}
	if strings.Join(names, ",") != strings.Join(files, ",") || len(files) == 0 {
		errs("event.attachments %v does not name the file parts %v", names, files)
	}
	var start, end time.Time
	for _, k := range []string{"start", "end"} {
		v, _ := ev[k].(string)
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			errs("event.%s %q is not RFC 3339: %v", k, v, err)
		}
		if k == "start" {
			start = t
		} else {
			end = t
		}
	}
	if end.Before(start) {
		errs("event.end %v is before event.start %v", end, start)
	}
	if f, _ := ev["family"].(string); f != "go" {
		errs("event.family %q, want go", f)
	}
	if t, _ := ev["tags_profiler"].(string); t == "" {
		errs("event.tags_profiler is empty")
	}
	if v, _ := ev["version"].(string); kind == "dd_intake" && v != "4" {
		errs("event.version %q: the intake takes version 4 (as dd-trace-go sends)", v)
	}
}
