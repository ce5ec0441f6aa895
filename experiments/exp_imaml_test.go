package main

import (
	"slices"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestIMAMLInnerSteps checks that inner_steps always has the two counts the
// convergence check compares, in a config and after -quick.
func TestIMAMLInnerSteps(t *testing.T) {
	for _, bad := range [][]int{nil, {50}, {20, 10}, {0, 10}} {
		c := *runner.Defaults[imamlConfig]("imaml", false)
		c.InnerSteps = bad
		if c.Validate() == nil {
			t.Errorf("inner_steps = %v accepted", bad)
		}
	}
	for _, tc := range []struct{ in, want []int }{
		{[]int{5, 10, 20, 50, 100, 200}, []int{5, 10, 20, 50, 100}},
		{[]int{50, 500}, []int{50, 500}},
		{[]int{200, 500, 1000}, []int{200, 500}},
	} {
		c := *runner.Defaults[imamlConfig]("imaml", false)
		c.InnerSteps = tc.in
		runner.Quick("imaml", &c)
		if !slices.Equal(c.InnerSteps, tc.want) {
			t.Errorf("-quick on inner_steps = %v gives %v, want %v", tc.in, c.InnerSteps, tc.want)
		}
	}
}
