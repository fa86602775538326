// The dictionary rules of profiles.proto that pdata does not enforce: every
// table starts with its zero value (so index 0 means "unset"), and every
// index into a table resolves.
package main

import (
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

// maxErrors bounds what one request reports.
const maxErrors = 30

type validator struct {
	dict pprofile.ProfilesDictionary
	errs []string
}

func (v *validator) fail(format string, args ...any) {
	if len(v.errs) < maxErrors {
		v.errs = append(v.errs, fmt.Sprintf(format, args...))
	}
}

func (v *validator) index(i, n int, what string) bool {
	if i < 0 || i >= n {
		v.fail("%s: index %d outside a table of %d", what, i, n)
		return false
	}
	return true
}

func (v *validator) str(i int32, what string) string {
	if !v.index(int(i), v.dict.StringTable().Len(), what+" (string)") {
		return ""
	}
	return v.dict.StringTable().At(int(i))
}

func (v *validator) checkDictionary() {
	d := v.dict
	if d.StringTable().Len() == 0 || d.StringTable().At(0) != "" {
		v.fail(`string_table[0] must be ""`)
	}
	need := func(n int, table string, zero func() bool) {
		if n == 0 {
			v.fail("%s is empty: its first entry must be the zero value", table)
		} else if !zero() {
			v.fail("%s[0] is not the zero value", table)
		}
	}
	need(d.MappingTable().Len(), "mapping_table", func() bool {
		m := d.MappingTable().At(0)
		return m.MemoryStart() == 0 && m.MemoryLimit() == 0 && m.FileOffset() == 0 && m.FilenameStrindex() == 0 && m.AttributeIndices().Len() == 0
	})
	need(d.LocationTable().Len(), "location_table", func() bool {
		l := d.LocationTable().At(0)
		return l.MappingIndex() == 0 && l.Address() == 0 && l.Lines().Len() == 0 && l.AttributeIndices().Len() == 0
	})
	need(d.FunctionTable().Len(), "function_table", func() bool {
		f := d.FunctionTable().At(0)
		return f.NameStrindex() == 0 && f.SystemNameStrindex() == 0 && f.FilenameStrindex() == 0 && f.StartLine() == 0
	})
	need(d.LinkTable().Len(), "link_table", func() bool {
		l := d.LinkTable().At(0)
		return l.TraceID().IsEmpty() && l.SpanID().IsEmpty()
	})
	need(d.AttributeTable().Len(), "attribute_table", func() bool {
		a := d.AttributeTable().At(0)
		return a.KeyStrindex() == 0 && a.UnitStrindex() == 0 && a.Value().Type() == pcommon.ValueTypeEmpty
	})
	need(d.StackTable().Len(), "stack_table", func() bool { return d.StackTable().At(0).LocationIndices().Len() == 0 })

	for i := 1; i < d.MappingTable().Len(); i++ {
		m := d.MappingTable().At(i)
		v.str(m.FilenameStrindex(), fmt.Sprintf("mapping %d filename", i))
		v.attrIndices(m.AttributeIndices(), fmt.Sprintf("mapping %d", i))
	}
	for i := 1; i < d.FunctionTable().Len(); i++ {
		f := d.FunctionTable().At(i)
		what := fmt.Sprintf("function %d", i)
		v.str(f.NameStrindex(), what+" name")
		v.str(f.SystemNameStrindex(), what+" system_name")
		v.str(f.FilenameStrindex(), what+" filename")
	}
	for i := 1; i < d.LocationTable().Len(); i++ {
		l := d.LocationTable().At(i)
		what := fmt.Sprintf("location %d", i)
		v.index(int(l.MappingIndex()), d.MappingTable().Len(), what+" mapping_index")
		for j, ln := range l.Lines().All() {
			if ln.FunctionIndex() == 0 {
				v.fail("%s line %d: function_index 0 (the unset function)", what, j)
			}
			v.index(int(ln.FunctionIndex()), d.FunctionTable().Len(), fmt.Sprintf("%s line %d function_index", what, j))
		}
		v.attrIndices(l.AttributeIndices(), what)
	}
	for i := 1; i < d.AttributeTable().Len(); i++ {
		a := d.AttributeTable().At(i)
		if v.str(a.KeyStrindex(), fmt.Sprintf("attribute %d key", i)) == "" {
			v.fail("attribute %d has an empty key", i)
		}
		v.str(a.UnitStrindex(), fmt.Sprintf("attribute %d unit", i))
	}
	for i := 1; i < d.StackTable().Len(); i++ {
		for _, li := range d.StackTable().At(i).LocationIndices().All() {
			if li == 0 {
				v.fail("stack %d refers to location 0 (the unset location)", i)
			}
			v.index(int(li), d.LocationTable().Len(), fmt.Sprintf("stack %d location_indices", i))
		}
	}
}

func (v *validator) attrIndices(idx pcommon.Int32Slice, what string) {
	for _, i := range idx.All() {
		v.index(int(i), v.dict.AttributeTable().Len(), what+" attribute_indices")
	}
}

// frames are the function names of a stack, root first (inlined frames expanded).
func (v *validator) frames(stackIndex int32) []string {
	d := v.dict
	if stackIndex < 0 || int(stackIndex) >= d.StackTable().Len() {
		return nil
	}
	var leafFirst []string
	for _, li := range d.StackTable().At(int(stackIndex)).LocationIndices().All() {
		if li <= 0 || int(li) >= d.LocationTable().Len() {
			continue
		}
		for _, ln := range d.LocationTable().At(int(li)).Lines().All() {
			fi := int(ln.FunctionIndex())
			if fi <= 0 || fi >= d.FunctionTable().Len() {
				continue
			}
			ni := int(d.FunctionTable().At(fi).NameStrindex())
			if ni >= 0 && ni < d.StringTable().Len() {
				leafFirst = append(leafFirst, d.StringTable().At(ni))
			}
		}
	}
	out := make([]string, len(leafFirst))
	for i, f := range leafFirst {
		out[len(leafFirst)-1-i] = f
	}
	return out
}

// labelKey writes a sample's attributes as sorted "k=v" (strings) and
// "k=#n[unit]" (numbers), the form the TypeScript tests build from pprof labels.
func labelKey(attrs map[string]any) string {
	parts := make([]string, 0, len(attrs))
	for k, val := range attrs {
		key, unit, _ := strings.Cut(k, "[")
		unit = strings.TrimSuffix(unit, "]")
		switch x := val.(type) {
		case string:
			parts = append(parts, key+"="+x)
		case int64:
			s := fmt.Sprintf("%s=#%d", key, x)
			if unit != "" {
				s += "[" + unit + "]"
			}
			parts = append(parts, s)
		default:
			parts = append(parts, fmt.Sprintf("%s=%v", key, x))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// profile checks one profile's indices and sums it up.
func (v *validator) profile(p pprofile.Profile, what string) OtlpProfile {
	st := p.SampleType()
	pt := p.PeriodType()
	out := OtlpProfile{
		SampleType:   v.str(st.TypeStrindex(), what+" sample_type") + "/" + v.str(st.UnitStrindex(), what+" sample_type unit"),
		PeriodType:   v.str(pt.TypeStrindex(), what+" period_type") + "/" + v.str(pt.UnitStrindex(), what+" period_type unit"),
		Period:       p.Period(),
		TimeUnixNano: uint64(p.Time()),
		DurationNano: p.DurationNano(),
		ProfileID:    profileID(p),
		Attributes:   v.attrMap(p.AttributeIndices(), what),
		Stacks:       map[string]int64{},
	}
	flat := map[string]int64{}
	cum := map[string]int64{}
	for si, s := range p.Samples().All() {
		sw := fmt.Sprintf("%s sample %d", what, si)
		v.index(int(s.StackIndex()), v.dict.StackTable().Len(), sw+" stack_index")
		v.index(int(s.LinkIndex()), v.dict.LinkTable().Len(), sw+" link_index")
		if s.Values().Len() != 1 {
			v.fail("%s: %d values for one sample type", sw, s.Values().Len())
			continue
		}
		val := s.Values().At(0)
		out.Samples++
		out.Sum += val
		frames := v.frames(s.StackIndex())
		key := strings.Join(frames, ";")
		if labels := labelKey(v.attrMap(s.AttributeIndices(), sw)); labels != "" {
			key += "|" + labels
		}
		out.Stacks[key] += val
		if len(frames) > 0 {
			flat[frames[len(frames)-1]] += val
		}
		seen := map[string]bool{}
		for _, f := range frames {
			if !seen[f] {
				cum[f] += val
				seen[f] = true
			}
		}
	}
	out.Top = topFunctions(flat, cum)
	return out
}
