// Raw pprof, read by github.com/google/pprof/profile: Parse (which takes
// gzipped or plain bytes) and CheckValid, what `go tool pprof` and
// Pyroscope's ingester run on every profile they take.
package main

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"

	"github.com/google/pprof/profile"
)

// topN is how many functions a summary lists per sample type.
const topN = 10

type FuncValue struct {
	Function string `json:"function"`
	Flat     int64  `json:"flat"`
	Cum      int64  `json:"cum"`
}

type PprofSummary struct {
	Bytes         int                    `json:"bytes"`
	SampleTypes   []string               `json:"sample_types"`
	PeriodType    string                 `json:"period_type"`
	Period        int64                  `json:"period"`
	TimeNanos     int64                  `json:"time_nanos,string"`
	DurationNanos int64                  `json:"duration_nanos,string"`
	Samples       int                    `json:"samples"`
	Sums          map[string]int64       `json:"sums"`
	Top           map[string][]FuncValue `json:"top"`
	Tables        map[string]int         `json:"tables"`
	Error         string                 `json:"error,omitempty"`
}

func topFunctions(flat, cum map[string]int64) []FuncValue {
	out := make([]FuncValue, 0, len(cum))
	for f, c := range cum {
		out = append(out, FuncValue{Function: f, Flat: flat[f], Cum: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cum != out[j].Cum {
			return out[i].Cum > out[j].Cum
		}
		return out[i].Function < out[j].Function
	})
	if len(out) > topN {
		out = out[:topN]
	}
	return out
}

// summarizePprof parses and validates one pprof; a failure is in .Error.
func summarizePprof(data []byte) *PprofSummary {
	s := &PprofSummary{Bytes: len(data), Sums: map[string]int64{}, Top: map[string][]FuncValue{}, Tables: map[string]int{}}
	p, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		s.Error = "profile.Parse: " + err.Error()
		return s
	}
	if err := p.CheckValid(); err != nil {
		s.Error = "CheckValid: " + err.Error()
		return s
	}
	for _, st := range p.SampleType {
		s.SampleTypes = append(s.SampleTypes, st.Type+"/"+st.Unit)
	}
	if p.PeriodType != nil {
		s.PeriodType = p.PeriodType.Type + "/" + p.PeriodType.Unit
	}
	s.Period = p.Period
	s.TimeNanos = p.TimeNanos
	s.DurationNanos = p.DurationNanos
	s.Samples = len(p.Sample)
	s.Tables["locations"] = len(p.Location)
	s.Tables["functions"] = len(p.Function)
	s.Tables["mappings"] = len(p.Mapping)
	for i, st := range p.SampleType {
		flat := map[string]int64{}
		cum := map[string]int64{}
		for _, smp := range p.Sample {
			v := smp.Value[i]
			s.Sums[st.Type] += v
			seen := map[string]bool{}
			for li, loc := range smp.Location {
				for lj, ln := range loc.Line {
					if ln.Function == nil {
						continue
					}
					name := ln.Function.Name
					if li == 0 && lj == 0 {
						flat[name] += v
					}
					if !seen[name] {
						cum[name] += v
						seen[name] = true
					}
				}
			}
		}
		s.Top[st.Type] = topFunctions(flat, cum)
	}
	return s
}

func (s *store) handlePprof(w http.ResponseWriter, r *http.Request) {
	req := &Request{Kind: "pprof", Path: r.URL.Path, Headers: headersOf(r.Header)}
	body, err := readBody(r)
	if err != nil {
		req.Errors = append(req.Errors, err.Error())
		req.Status = 400
		s.add(req)
		http.Error(w, err.Error(), 400)
		return
	}
	req.WireBytes = len(body)
	req.DecodedBytes = len(body)
	req.Pprof = summarizePprof(body)
	req.Status = 200
	if req.Pprof.Error != "" {
		req.Errors = append(req.Errors, req.Pprof.Error)
		req.Status = 400
	}
	s.add(req)
	if req.Status != 200 {
		http.Error(w, req.Pprof.Error, req.Status)
		return
	}
	writeJSON(w, 200, req.Pprof)
}

// pprofErr is the error text of a summary, or "" (for messages that name the part).
func pprofErr(where string, s *PprofSummary) string {
	if s.Error == "" {
		return ""
	}
	return fmt.Sprintf("%s: %s", where, s.Error)
}
