package main

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
)

// TestODEScalMLP checks the vector field's hand-written VJP and JVP against
// central differences of Eval, and against each other (⟨v, J u⟩ both ways).
func TestODEScalMLP(t *testing.T) {
	sys := odeScalMLP{n: 3, h: 5}
	n, np := sys.Dims()
	if np != 2*3*5+5+3 {
		t.Fatalf("np = %d", np)
	}
	y := []float64{0.3, -0.5, 0.8}
	p := make([]float64, np)
	for i := range p {
		p[i] = 0.6 * math.Sin(1.7*float64(i)+0.2)
	}
	v := []float64{1, -0.4, 0.7}
	u := make([]float64, n+np)
	for i := range u {
		u[i] = math.Cos(0.9*float64(i) + 0.3)
	}
	yb, pb := make([]float64, n), make([]float64, np)
	sys.VJP(yb, pb, 0, y, p, v)
	got := append(slices.Clone(yb), pb...)
	f := make([]float64, n)
	want := fd.Gradient(nil, func(z []float64) float64 {
		sys.Eval(f, 0, z[:n], z[n:])
		return floats.Dot(v, f)
	}, append(slices.Clone(y), p...), &fd.Settings{Formula: fd.Central})
	if e := relErr(got, want); e > 1e-8 {
		t.Errorf("VJP differs from central differences: %.3g", e)
	}
	jvp := make([]float64, n)
	sys.JVP(jvp, 0, y, p, u[:n], u[n:])
	if a, b := floats.Dot(v, jvp), floats.Dot(got, u); math.Abs(a-b) > 1e-12*max(1, math.Abs(a)) {
		t.Errorf("⟨v, J u⟩ = %v by JVP, %v by VJP", a, b)
	}
}

// TestODEScalConfig checks that the defaults and their quick shrink are
// valid, and that bad values are rejected.
func TestODEScalConfig(t *testing.T) {
	e := registry["ode_sensitivity_scaling"]
	c := e.defaults().(*odeScalConfig)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	def := *e.defaults().(*odeScalConfig)
	e.quick(c)
	if err := c.Validate(); err != nil {
		t.Errorf("quick config rejected: %v", err)
	}
	if len(c.Hidden) > len(def.Hidden) || c.MinTime > def.MinTime || c.MaxReps > def.MaxReps ||
		c.ForwardMaxParams > def.ForwardMaxParams || c.FDMaxParams > def.FDMaxParams {
		t.Errorf("quick config %+v is not a shrink of %+v", *c, def)
	}
	big := odeScalConfig{Hidden: []int{500}}
	e.quick(&big)
	if !slices.Equal(big.Hidden, []int{500}) {
		t.Errorf("quick changed hidden = [500] to %v", big.Hidden)
	}
	for _, bad := range []func(*odeScalConfig){
		func(c *odeScalConfig) { c.Hidden = nil },
		func(c *odeScalConfig) { c.Hidden = []int{0} },
		func(c *odeScalConfig) { c.MinTime = -1 },
		func(c *odeScalConfig) { c.State = 0 },
	} {
		b := *e.defaults().(*odeScalConfig)
		bad(&b)
		if b.Validate() == nil {
			t.Errorf("accepted %+v", b)
		}
	}
}
