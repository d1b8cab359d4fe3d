package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"
)

// printer writes a command's result in the chosen format: json and yaml
// print the value itself (field names as in the OSB API), table prints
// rows for people.
type printer struct {
	w      io.Writer
	format string
}

// print writes v as JSON or YAML, or calls table for the table format.
func (p printer) print(v any, table func(w io.Writer)) error {
	switch p.format {
	case "json":
		enc := json.NewEncoder(p.w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = p.w.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// row writes tab-separated cells.
func row(w io.Writer, cells ...any) {
	s := make([]string, len(cells))
	for i, c := range cells {
		s[i] = oneLine(fmt.Sprint(c))
	}
	fmt.Fprintln(w, strings.Join(s, "\t"))
}

// oneLine keeps a cell on one line (a multi-line value, a PEM key, would
// break the table): newlines shown as \n.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", `\n`)
}

// keyValues prints a map as KEY VALUE rows, sorted. Values that are not
// strings are printed as JSON.
func keyValues(w io.Writer, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		row(w, k, show(m[k]))
	}
}

func show(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
