package ode

import "math"

// PIController chooses step sizes from the local error estimates of an
// adaptive solver with a proportional–integral rule (Gustafsson; Hairer &
// Wanner, Solving ODEs II, IV.2):
//
//	h_{n+1} = h_n · clamp(Safety · err_n^(−Beta1) · err_{n−1}^(Beta2), MinFactor, MaxFactor)
//
// where err is the weighted RMS norm of the error estimate (err ≤ 1 means
// the step is accepted) and k = q+1 for an embedded estimate of order q.
// After a rejection the step is only reduced, by Safety·err^(−1/k). Beta2 = 0
// gives the classical integral (I) controller.
//
// The zero value means the defaults documented on each field.
type PIController struct {
	// Beta1 is the exponent of the current error. Zero means 0.7/k.
	Beta1 float64
	// Beta2 is the exponent of the previous error. Zero means 0.4/k;
	// a negative value means 0 (I controller).
	Beta2 float64
	// Safety scales every proposed step. Zero means 0.9.
	Safety float64
	// MinFactor and MaxFactor bound the ratio of successive steps. Zero
	// means 0.2 and 10.
	MinFactor, MaxFactor float64
}

// resolved returns the controller with defaults filled in for an error
// estimate of order q.
func (c PIController) resolved(q int) PIController {
	k := float64(q + 1)
	if c.Beta1 == 0 {
		c.Beta1 = 0.7 / k
	}
	switch {
	case c.Beta2 == 0:
		c.Beta2 = 0.4 / k
	case c.Beta2 < 0:
		c.Beta2 = 0
	}
	if c.Safety == 0 {
		c.Safety = 0.9
	}
	if c.MinFactor == 0 {
		c.MinFactor = 0.2
	}
	if c.MaxFactor == 0 {
		c.MaxFactor = 10
	}
	return c
}

// accept returns the factor for the step after an accepted step with error
// norm e (≤ 1), given the logarithm of the previous accepted error norm.
func (c *PIController) accept(e, logPrev float64) float64 {
	e = math.Max(e, 1e-10)
	f := c.Safety * math.Exp(-c.Beta1*math.Log(e)+c.Beta2*logPrev)
	return math.Min(c.MaxFactor, math.Max(c.MinFactor, f))
}

// reject returns the factor after a rejected step with error norm e (> 1),
// for an error estimate of order q.
func (c *PIController) reject(e float64, q int) float64 {
	f := c.Safety * math.Pow(e, -1/float64(q+1))
	return math.Min(0.9, math.Max(c.MinFactor, f))
}

// errNorm returns the weighted RMS norm of the error estimate e for a step
// from x0 to x1: sqrt(mean((eᵢ / (atolᵢ + rtol·max(|x0ᵢ|, |x1ᵢ|)))²)).
// atol has one entry per component. A NaN anywhere gives NaN.
func errNorm(e, x0, x1 []float64, rtol float64, atol []float64) float64 {
	var s float64
	for i, v := range e {
		sc := atol[i] + rtol*math.Max(math.Abs(x0[i]), math.Abs(x1[i]))
		r := v / sc
		s += r * r
	}
	return math.Sqrt(s / float64(len(e)))
}

// rmsScaled returns sqrt(mean((vᵢ / (atolᵢ + rtol·|xᵢ|))²)).
func rmsScaled(v, x []float64, rtol float64, atol []float64) float64 {
	var s float64
	for i := range v {
		r := v[i] / (atol[i] + rtol*math.Abs(x[i]))
		s += r * r
	}
	return math.Sqrt(s / float64(len(v)))
}
