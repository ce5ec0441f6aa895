package main

import "fmt"

// The elementwise kernels (exp, tanh, sigmoid) for AVX-512 and AVX2+FMA:
// one vector per step, a masked step for the tail, so every element goes
// through the same arithmetic. The algorithms are those of vmath.go's
// portable loops, with fused multiply-adds. Constants come from a table in
// which each value is repeated eight times (vmConst in vmath_amd64.go), so
// that every instruction can take a full vector of it from memory.

// Indices into the constant table; they must match vmath_amd64.go.
var vmIndex = map[string]int{}

var vmNames = []string{"log2e", "magic", "ln2hi", "ln2lo", "one", "two", "neg2", "tanhlo", "explo", "exphi",
	"half", "magic1023", "abs", "sign", "zero",
	"inv2", "inv3", "inv4", "inv5", "inv6", "inv7", "inv8", "inv9", "inv10", "inv11", "inv12", "inv13"}

func init() {
	for i, n := range vmNames {
		vmIndex[n] = i
	}
}

// isa abstracts the two vector instruction sets.
type isa struct {
	name  string
	lanes int
	reg   string // "Z" or "Y"
	and   string // bitwise and/or of doubles
	or    string
	floor string // round-down instruction
}

var isaAVX512 = isa{"AVX512", 8, "Z", "VPANDQ", "VPORQ", "VRNDSCALEPD"}
var isaAVX2 = isa{"AVX2", 4, "Y", "VANDPD", "VORPD", "VROUNDPD"}

// c returns the memory operand of constant name (R8 holds the table).
func c(name string) string {
	i, ok := vmIndex[name]
	if !ok {
		panic("unknown constant " + name)
	}
	return fmt.Sprintf("%d(R8)", 64*i)
}

// vmGo gives the Go expression of each constant, for the table that
// kernel_amd64.go declares.
var vmGo = map[string]string{"log2e": "log2e", "magic": "roundMag", "ln2hi": "ln2Hi", "ln2lo": "ln2Lo",
	"one": "1", "two": "2", "neg2": "-2", "tanhlo": "-40", "explo": "-746", "exphi": "710", "half": "0.5",
	"magic1023": "roundMag + 1023", "abs": "math.Float64frombits(1<<63 - 1)", "sign": "math.Float64frombits(1 << 63)",
	"zero": "0"}

func (g *gen) vmathAll() {
	fmt.Fprintf(g.d, "\n// vmConstN is the number of constants of the elementwise kernels.\nconst vmConstN = %d\n", len(vmNames))
	fmt.Fprintf(g.d, "\n// vmConstValues lists the constants of the elementwise kernels in the order\n// their assembly reads them.\nvar vmConstValues = [vmConstN]float64{\n")
	for _, n := range vmNames {
		e, ok := vmGo[n]
		if !ok {
			e = n // inv2 … inv13 have the same names in Go
		}
		fmt.Fprintf(g.d, "\t%s,\n", e)
	}
	fmt.Fprintf(g.d, "}\n")
	for _, is := range []isa{isaAVX512, isaAVX2} {
		g.vloop("exp", is, g.vexp)
		g.vloop("tanh", is, g.vtanh)
		g.vloop("sigmoid", is, g.vsigmoid)
	}
}

// vloop writes func <fn><ISA>(dst, src *float64, n int, c *[N][8]float64):
// dst[i] = fn(src[i]) for i < n, the body mapping register 0 to itself.
func (g *gen) vloop(fn string, is isa, body func(is isa)) {
	name := fn + is.name
	fmt.Fprintf(g.d, "\n//go:noescape\nfunc %s(dst, src *float64, n int, c *[vmConstN][8]float64)\n", name)
	g.p("")
	g.p("// func %s(dst, src *float64, n int, c *[vmConstN][8]float64)", name)
	g.p("TEXT ·%s(SB), NOSPLIT, $0-32", name)
	g.p("\tMOVQ dst+0(FP), DI")
	g.p("\tMOVQ src+8(FP), SI")
	g.p("\tMOVQ n+16(FP), CX")
	g.p("\tMOVQ c+24(FP), R8")
	x := is.reg + "0"
	g.p("%s_loop:", name)
	g.p("\tCMPQ CX, $%d", is.lanes)
	g.p("\tJL %s_tail", name)
	g.p("\tVMOVUPD (SI), %s", x)
	body(is)
	g.p("\tVMOVUPD %s, (DI)", x)
	g.p("\tADDQ $%d, SI", 8*is.lanes)
	g.p("\tADDQ $%d, DI", 8*is.lanes)
	g.p("\tSUBQ $%d, CX", is.lanes)
	g.p("\tJMP %s_loop", name)
	g.p("%s_tail:", name)
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ %s_done", name)
	if is.reg == "Z" {
		g.p("\tMOVL $1, AX")
		g.p("\tSHLL CX, AX")
		g.p("\tDECL AX")
		g.p("\tKMOVW AX, K1")
		g.p("\tVMOVUPD.Z (SI), K1, %s", x)
		body(is)
		g.p("\tVMOVUPD %s, K1, (DI)", x)
	} else {
		// Y15 keeps the first CX lanes (1 ≤ CX ≤ 3).
		g.p("\tMOVQ $4, AX")
		g.p("\tSUBQ CX, AX")
		g.p("\tLEAQ avx2mask<>(SB), R9")
		g.p("\tVMOVDQU (R9)(AX*8), Y15")
		g.p("\tVMASKMOVPD (SI), Y15, %s", x)
		body(is)
		g.p("\tVMASKMOVPD %s, Y15, (DI)", x)
	}
	g.p("%s_done:", name)
	g.p("\tVZEROUPPER")
	g.p("\tRET")
}

// reduce computes, from y in register Y, kf = round(y/ln2) in KF and
// r = y − kf·ln2 in R, and q = 1 + r/2 + … + r¹²/13! in Q (so that
// e^y = 2^kf·(1 + r·q)).
func (g *gen) reduce(is isa, y, kf, r, q string) {
	g.p("\tVMOVUPD %s, %s", c("magic"), kf)
	g.p("\tVFMADD231PD %s, %s, %s", c("log2e"), y, kf)
	g.p("\tVSUBPD %s, %s, %s", c("magic"), kf, kf)
	g.p("\tVMOVUPD %s, %s", y, r)
	g.p("\tVFNMADD231PD %s, %s, %s", c("ln2hi"), kf, r)
	g.p("\tVFNMADD231PD %s, %s, %s", c("ln2lo"), kf, r)
	g.p("\tVMOVUPD %s, %s", c("inv13"), q)
	for k := 12; k >= 2; k-- {
		g.p("\tVFMADD213PD %s, %s, %s", c(fmt.Sprintf("inv%d", k)), r, q)
	}
	g.p("\tVFMADD213PD %s, %s, %s", c("one"), r, q)
}

// pow2 sets register k (an integer-valued double, −1023 ≤ k ≤ 1023) to 2^k.
func (g *gen) pow2(k string) {
	g.p("\tVADDPD %s, %s, %s", c("magic1023"), k, k)
	g.p("\tVPSUBQ %s, %s, %s", c("magic"), k, k)
	g.p("\tVPSLLQ $52, %s, %s", k, k)
}

// expTail sets p = (1 + r·q)·2^kf in two power-of-two factors, so that
// overflow and gradual underflow round once; it clobbers kf and t.
func (g *gen) expTail(is isa, kf, r, q, t, p string) {
	g.p("\tVFMADD213PD %s, %s, %s", c("one"), r, q) // q = 1 + r·q
	g.p("\tVMULPD %s, %s, %s", c("half"), kf, t)
	g.p("\t%s $1, %s, %s", is.floor, t, t) // k1 = ⌊kf/2⌋
	g.p("\tVSUBPD %s, %s, %s", t, kf, kf)  // k2 = kf − k1
	g.pow2(t)
	g.pow2(kf)
	g.p("\tVMULPD %s, %s, %s", t, q, q)
	g.p("\tVMULPD %s, %s, %s", kf, q, p)
}

func (g *gen) vexp(is isa) {
	r := func(i int) string { return fmt.Sprintf("%s%d", is.reg, i) }
	// y = min(max(x, −746), 710): x as the second operand keeps NaN.
	g.p("\tVMOVUPD %s, %s", c("explo"), r(1))
	g.p("\tVMAXPD %s, %s, %s", r(0), r(1), r(1))
	g.p("\tVMOVUPD %s, %s", c("exphi"), r(2))
	g.p("\tVMINPD %s, %s, %s", r(1), r(2), r(1))
	g.reduce(is, r(1), r(2), r(3), r(4))
	g.expTail(is, r(2), r(3), r(4), r(5), r(0))
}

func (g *gen) vtanh(is isa) {
	r := func(i int) string { return fmt.Sprintf("%s%d", is.reg, i) }
	// y = max(−2|x|, −40)
	g.p("\t%s %s, %s, %s", is.and, c("abs"), r(0), r(1))
	g.p("\tVMULPD %s, %s, %s", c("neg2"), r(1), r(1))
	g.p("\tVMOVUPD %s, %s", c("tanhlo"), r(2))
	g.p("\tVMAXPD %s, %s, %s", r(1), r(2), r(1))
	g.reduce(is, r(1), r(2), r(3), r(4))
	// m = 2^k·(r·q) + (2^k − 1) = expm1(y)
	g.pow2(r(2))
	g.p("\tVMULPD %s, %s, %s", r(3), r(4), r(4))
	g.p("\tVSUBPD %s, %s, %s", c("one"), r(2), r(5))
	g.p("\tVFMADD231PD %s, %s, %s", r(4), r(2), r(5))
	// tanh|x| = −m/(2+m), with the sign of x
	g.p("\tVADDPD %s, %s, %s", c("two"), r(5), r(6))
	g.p("\tVDIVPD %s, %s, %s", r(6), r(5), r(5))
	g.p("\t%s %s, %s, %s", is.and, c("abs"), r(5), r(5))
	g.p("\t%s %s, %s, %s", is.and, c("sign"), r(0), r(0))
	g.p("\t%s %s, %s, %s", is.or, r(5), r(0), r(0))
}

func (g *gen) vsigmoid(is isa) {
	r := func(i int) string { return fmt.Sprintf("%s%d", is.reg, i) }
	// e = exp(max(−|x|, −746))
	g.p("\t%s %s, %s, %s", is.and, c("abs"), r(0), r(1))
	g.p("\t%s %s, %s, %s", is.or, c("sign"), r(1), r(1))
	g.p("\tVMOVUPD %s, %s", c("explo"), r(2))
	g.p("\tVMAXPD %s, %s, %s", r(1), r(2), r(1))
	g.reduce(is, r(1), r(2), r(3), r(4))
	g.expTail(is, r(2), r(3), r(4), r(5), r(6))
	// (x < 0 ? e : 1) / (1 + e)
	g.p("\tVADDPD %s, %s, %s", c("one"), r(6), r(7))
	g.p("\tVMOVUPD %s, %s", c("one"), r(8))
	if is.reg == "Z" {
		g.p("\tVCMPPD $1, %s, %s, K2", c("zero"), r(0))
		g.p("\tVBLENDMPD %s, %s, K2, %s", r(6), r(8), r(8))
	} else {
		g.p("\tVCMPPD $1, %s, %s, %s", c("zero"), r(0), r(9))
		g.p("\tVBLENDVPD %s, %s, %s, %s", r(9), r(6), r(8), r(8))
	}
	g.p("\tVDIVPD %s, %s, %s", r(7), r(8), r(0))
}
