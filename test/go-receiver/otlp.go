// OTLP profiles over HTTP, decoded by pdata's pprofileotlp (the code the
// OpenTelemetry Collector's OTLP receiver runs), then every dictionary index
// checked, since pdata resolves none of them.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/pprofile/pprofileotlp"
	"google.golang.org/protobuf/encoding/protowire"
)

// OtlpAnswer is a queued answer to the next OTLP request (POST /control/otlp).
type OtlpAnswer struct {
	Status     int    `json:"status"`
	RetryAfter string `json:"retry_after"`
	Rejected   int64  `json:"rejected"`
	Message    string `json:"message"`
}

// PartialAnswer is the partial_success the receiver answered with.
type PartialAnswer struct {
	Rejected int64  `json:"rejected_profiles"`
	Message  string `json:"error_message"`
}

type OtlpResource struct {
	Attributes map[string]any `json:"attributes"`
	Scopes     []OtlpScope    `json:"scopes"`
}

type OtlpScope struct {
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	Attributes map[string]any `json:"attributes"`
	Profiles   []OtlpProfile  `json:"profiles"`
}

type OtlpProfile struct {
	SampleType   string           `json:"sample_type"`
	PeriodType   string           `json:"period_type"`
	Period       int64            `json:"period"`
	TimeUnixNano uint64           `json:"time_unix_nano,string"`
	DurationNano uint64           `json:"duration_nano,string"`
	ProfileID    string           `json:"profile_id"`
	Samples      int              `json:"samples"`
	Sum          int64            `json:"sum"`
	Attributes   map[string]any   `json:"attributes"`
	Top          []FuncValue      `json:"top"`
	Stacks       map[string]int64 `json:"stacks,omitempty"`
}

type DictionarySize struct {
	Strings    int `json:"strings"`
	Mappings   int `json:"mappings"`
	Locations  int `json:"locations"`
	Functions  int `json:"functions"`
	Links      int `json:"links"`
	Attributes int `json:"attributes"`
	Stacks     int `json:"stacks"`
}

func withoutStacks(rs []OtlpResource) []OtlpResource {
	out := make([]OtlpResource, len(rs))
	for i, r := range rs {
		out[i] = OtlpResource{Attributes: r.Attributes, Scopes: make([]OtlpScope, len(r.Scopes))}
		for j, sc := range r.Scopes {
			out[i].Scopes[j] = sc
			out[i].Scopes[j].Profiles = make([]OtlpProfile, len(sc.Profiles))
			for k, p := range sc.Profiles {
				p.Stacks = nil
				out[i].Scopes[j].Profiles[k] = p
			}
		}
	}
	return out
}

// rpcStatus encodes google.rpc.Status{code, message}, the body of an OTLP/HTTP error.
func rpcStatus(code int, msg string) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(code))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, msg)
	return b
}

func grpcCodeFor(status int) int {
	switch status {
	case 400:
		return 3 // INVALID_ARGUMENT
	case 401:
		return 16
	case 403:
		return 7
	case 429:
		return 8 // RESOURCE_EXHAUSTED
	case 502, 503, 504:
		return 14 // UNAVAILABLE
	default:
		return 13
	}
}

func (s *store) handleOTLP(w http.ResponseWriter, r *http.Request) {
	req := &Request{Kind: "otlp", Path: r.URL.Path, Headers: headersOf(r.Header)}
	fail := func(status int, msg string) {
		req.Errors = append(req.Errors, msg)
		req.Status = status
		s.add(req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(status)
		_, _ = w.Write(rpcStatus(grpcCodeFor(status), msg))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		fail(415, fmt.Sprintf("Content-Type %q: only application/x-protobuf is taken here", ct))
		return
	}
	wire, err := readBody(r)
	if err != nil {
		fail(400, err.Error())
		return
	}
	req.WireBytes = len(wire)
	body := wire
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			fail(400, "gzip: "+err.Error())
			return
		}
		body, err = io.ReadAll(io.LimitReader(zr, maxBody+1))
		if err != nil || len(body) > maxBody {
			fail(400, fmt.Sprintf("gzip body: %v", err))
			return
		}
	default:
		fail(415, fmt.Sprintf("Content-Encoding %q is not supported", enc))
		return
	}
	req.DecodedBytes = len(body)
	if err := pprofileotlp.ValidateDevelopmentVersion(r.Header.Values(pprofileotlp.DevelopmentVersionHeader)); err != nil {
		fail(400, err.Error())
		return
	}
	er := pprofileotlp.NewExportRequest()
	if err := er.UnmarshalProto(body); err != nil {
		fail(400, "pprofileotlp UnmarshalProto: "+err.Error())
		return
	}
	v := &validator{}
	summarize(er.Profiles(), req, v)
	if len(v.errs) > 0 {
		fail(400, strings.Join(v.errs, "; "))
		return
	}

	a := s.nextAnswer()
	if a.Status != 0 && a.Status != 200 {
		if a.RetryAfter != "" {
			w.Header().Set("Retry-After", a.RetryAfter)
		}
		msg := a.Message
		if msg == "" {
			msg = fmt.Sprintf("told to answer %d", a.Status)
		}
		req.Status = a.Status
		s.add(req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(a.Status)
		_, _ = w.Write(rpcStatus(grpcCodeFor(a.Status), msg))
		return
	}
	resp := pprofileotlp.NewExportResponse()
	if a.Rejected != 0 || a.Message != "" {
		resp.PartialSuccess().SetRejectedProfiles(a.Rejected)
		resp.PartialSuccess().SetErrorMessage(a.Message)
		req.Partial = &PartialAnswer{Rejected: a.Rejected, Message: a.Message}
	}
	out, err := resp.MarshalProto()
	if err != nil {
		fail(500, err.Error())
		return
	}
	req.Status = 200
	s.add(req)
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(200)
	_, _ = w.Write(out)
}

func (s *store) handleControl(w http.ResponseWriter, r *http.Request) {
	var c struct {
		Answers []OtlpAnswer `json:"answers"`
	}
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		writeJSON(w, 400, map[string]string{"error": err.Error()})
		return
	}
	s.mu.Lock()
	s.answers = append(s.answers, c.Answers...)
	n := len(s.answers)
	s.mu.Unlock()
	writeJSON(w, 200, map[string]int{"queued": n})
}

// summarize fills req from the decoded request, checking every index on the way.
func summarize(pd pprofile.Profiles, req *Request, v *validator) {
	d := pd.Dictionary()
	v.dict = d
	req.Dictionary = &DictionarySize{
		Strings: d.StringTable().Len(), Mappings: d.MappingTable().Len(), Locations: d.LocationTable().Len(),
		Functions: d.FunctionTable().Len(), Links: d.LinkTable().Len(), Attributes: d.AttributeTable().Len(), Stacks: d.StackTable().Len(),
	}
	v.checkDictionary()
	if pd.ResourceProfiles().Len() == 0 {
		v.fail("no resource_profiles")
	}
	ids := map[string]bool{}
	for _, rp := range pd.ResourceProfiles().All() {
		res := OtlpResource{Attributes: rp.Resource().Attributes().AsRaw()}
		for _, sp := range rp.ScopeProfiles().All() {
			sc := OtlpScope{Name: sp.Scope().Name(), Version: sp.Scope().Version(), Attributes: sp.Scope().Attributes().AsRaw()}
			for pi, p := range sp.Profiles().All() {
				what := fmt.Sprintf("profile %d", pi)
				sum := v.profile(p, what)
				if sum.ProfileID == "" || sum.ProfileID == strings.Repeat("0", 32) {
					v.fail(what + ": profile_id is empty or all zeroes")
				} else if ids[sum.ProfileID] {
					v.fail(what + ": profile_id " + sum.ProfileID + " repeats another profile's")
				}
				ids[sum.ProfileID] = true
				sc.Profiles = append(sc.Profiles, sum)
			}
			res.Scopes = append(res.Scopes, sc)
		}
		req.Resources = append(req.Resources, res)
	}
}

func profileID(p pprofile.Profile) string {
	id := p.ProfileID()
	return hex.EncodeToString(id[:])
}

// attrMap resolves attribute indices into key -> value (units as "key[unit]").
func (v *validator) attrMap(idx pcommon.Int32Slice, what string) map[string]any {
	out := map[string]any{}
	for _, i := range idx.All() {
		if !v.index(int(i), v.dict.AttributeTable().Len(), what+": attribute_indices") {
			continue
		}
		a := v.dict.AttributeTable().At(int(i))
		key := v.str(a.KeyStrindex(), what+": attribute key")
		if unit := v.str(a.UnitStrindex(), what+": attribute unit"); unit != "" {
			key += "[" + unit + "]"
		}
		out[key] = a.Value().AsRaw()
	}
	return out
}
