// Pyroscope's push API, served by the official connect handler with the
// official PushRequest types (github.com/grafana/pyroscope/api), so the body
// is decoded exactly as Pyroscope's distributor decodes it.
package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	pushv1 "github.com/grafana/pyroscope/api/gen/proto/go/push/v1"
	"github.com/grafana/pyroscope/api/gen/proto/go/push/v1/pushv1connect"
)

type PushSample struct {
	ID    string        `json:"id"`
	Pprof *PprofSummary `json:"pprof"`
}

type PushSeries struct {
	Labels  map[string]string `json:"labels"`
	Samples []PushSample      `json:"samples"`
}

type pusher struct{ s *store }

func (p pusher) Push(_ context.Context, r *connect.Request[pushv1.PushRequest]) (*connect.Response[pushv1.PushResponse], error) {
	req := &Request{Kind: "pyroscope_push", Path: pushv1connect.PusherServicePushProcedure, Headers: headersOf(r.Header())}
	for si, series := range r.Msg.GetSeries() {
		ps := PushSeries{Labels: map[string]string{}}
		for _, l := range series.GetLabels() {
			if _, dup := ps.Labels[l.GetName()]; dup {
				req.Errors = append(req.Errors, fmt.Sprintf("series %d: label %q twice", si, l.GetName()))
			}
			ps.Labels[l.GetName()] = l.GetValue()
		}
		for i, smp := range series.GetSamples() {
			sum := summarizePprof(smp.GetRawProfile())
			if e := pprofErr(fmt.Sprintf("series %d sample %d", si, i), sum); e != "" {
				req.Errors = append(req.Errors, e)
			}
			ps.Samples = append(ps.Samples, PushSample{ID: smp.GetID(), Pprof: sum})
		}
		req.Series = append(req.Series, ps)
	}
	if len(req.Series) == 0 {
		req.Errors = append(req.Errors, "no series")
	}
	if len(req.Errors) > 0 {
		req.Status = 400
		p.s.add(req)
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%s", strings.Join(req.Errors, "; ")))
	}
	req.Status = 200
	p.s.add(req)
	return connect.NewResponse(&pushv1.PushResponse{}), nil
}

func newPushHandler(s *store) (string, http.Handler) {
	return pushv1connect.NewPusherServiceHandler(pusher{s})
}
