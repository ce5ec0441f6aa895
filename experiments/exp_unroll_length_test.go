package main

import (
	"strings"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestUnrollLengthTruncationsDependOnLength checks that an invalid
// trunc_length is reported once, not again for every truncation.
func TestUnrollLengthTruncationsDependOnLength(t *testing.T) {
	c := *runner.Defaults[unrollLengthConfig]("unroll_length", false)
	c.TruncLength = 0
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "trunc_length") || strings.Contains(err.Error(), "truncations") {
		t.Errorf("trunc_length = 0: %v", err)
	}
	c = *runner.Defaults[unrollLengthConfig]("unroll_length", false)
	c.Truncations = []int{1, c.TruncLength + 1}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "truncations") {
		t.Errorf("a truncation longer than trunc_length: %v", err)
	}
}
