package registry

import (
	"fmt"
	"regexp"
)

// filter is bundle-lib's white/black list: unanchored regexes over image
// names; without a white_list nothing passes; with both, white minus black.
type filter struct {
	white, black []*regexp.Regexp
	invalid      []error
}

func newFilter(white, black []string) *filter {
	f := &filter{}
	compile := func(list []string, kind string) []*regexp.Regexp {
		var out []*regexp.Regexp
		for i, s := range list {
			if s == "" {
				continue
			}
			re, err := regexp.Compile(s)
			if err != nil {
				f.invalid = append(f.invalid, fmt.Errorf("%s[%d]: %w", kind, i, err))
				continue
			}
			out = append(out, re)
		}
		return out
	}
	f.white = compile(white, "white_list")
	f.black = compile(black, "black_list")
	return f
}

// apply splits names into those that pass and those filtered out, keeping
// the order of names.
func (f *filter) apply(names []string) (pass, filtered []string) {
	for _, n := range names {
		if matchAny(f.white, n) && !matchAny(f.black, n) {
			pass = append(pass, n)
		} else {
			filtered = append(filtered, n)
		}
	}
	return pass, filtered
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
