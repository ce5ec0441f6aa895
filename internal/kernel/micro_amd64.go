//go:build amd64 && !purego

package kernel

import "golang.org/x/sys/cpu"

//go:generate go run ./asmgen -out kernel_amd64.s -decl kernel_amd64.go

// avx512 holds the 8×24 AVX-512 kernels: 24 accumulators of eight
// doubles, three vectors of B and two broadcasts of A out of 32 zmm
// registers. Per step of p it does 24 FMAs against 3 loads and 8
// broadcasts, well inside the two loads per cycle that keep two FMA units
// busy.
//
// Blocking: a 24-column sliver of packed B, kc·24·8 bytes, is reused by
// every row sliver of A and must stay in L1 (32–48 KiB on AVX-512 cores):
// kc = 128 takes 24 KiB, half of it, leaving room for the streaming A
// sliver and C. A block of A, mc·kc·8 bytes, must stay in L2 (1–2 MiB):
// mc = 384 takes 384 KiB. The B panel, kc·nc·8 bytes, lives in L3:
// nc = 3072 takes 3 MiB.
var avx512 = &microKernel{name: "avx512", mr: 8, nr: 24, lanes: 8, maskedB: true, kc: 128, mc: 384, nc: 3072,
	vm:       &vectorMath{exp: expAVX512, tanh: tanhAVX512, sigmoid: sigmoidAVX512},
	packRows: packRowsAVX512,
	fns: [][]kernelFunc{
		{gemmAVX512R1V1, gemmAVX512R1V2, gemmAVX512R1V3},
		{gemmAVX512R2V1, gemmAVX512R2V2, gemmAVX512R2V3},
		{gemmAVX512R3V1, gemmAVX512R3V2, gemmAVX512R3V3},
		{gemmAVX512R4V1, gemmAVX512R4V2, gemmAVX512R4V3},
		{gemmAVX512R5V1, gemmAVX512R5V2, gemmAVX512R5V3},
		{gemmAVX512R6V1, gemmAVX512R6V2, gemmAVX512R6V3},
		{gemmAVX512R7V1, gemmAVX512R7V2, gemmAVX512R7V3},
		{gemmAVX512R8V1, gemmAVX512R8V2, gemmAVX512R8V3},
	}}

// avx2 holds the 4×12 AVX2+FMA kernels: 12 accumulators of four doubles,
// three vectors of B and one broadcast fill the 16 ymm registers.
//
// Blocking: the 12-column sliver of B, kc·12·8 bytes, stays in a 32 KiB L1
// with kc = 256 (24 KiB); a block of A, mc·kc·8 bytes, stays in a 256–512
// KiB L2 with mc = 96 (192 KiB); the B panel in L3 with nc = 2040 (4 MiB).
var avx2 = &microKernel{name: "avx2", mr: 4, nr: 12, lanes: 4, kc: 256, mc: 96, nc: 2040,
	vm:       &vectorMath{exp: expAVX2, tanh: tanhAVX2, sigmoid: sigmoidAVX2},
	packRows: packRowsAVX2,
	fns: [][]kernelFunc{
		{gemmAVX2R1V1, gemmAVX2R1V2, gemmAVX2R1V3},
		{gemmAVX2R2V1, gemmAVX2R2V2, gemmAVX2R2V3},
		{gemmAVX2R3V1, gemmAVX2R3V2, gemmAVX2R3V3},
		{gemmAVX2R4V1, gemmAVX2R4V2, gemmAVX2R4V3},
	}}

// available lists the kernels this CPU can run, best first; the portable
// kernel is always last. x/sys/cpu reports AVX-512 only when the operating
// system saves the zmm and mask registers.
func available() []*microKernel {
	var ks []*microKernel
	if cpu.X86.HasAVX512F && !noAVX512 {
		ks = append(ks, avx512)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2)
	}
	return append(ks, portable)
}

// vmConst is vmConstValues with each value repeated across a vector, so
// that the assembly can use any constant as a full-width memory operand.
var vmConst = func() (t [vmConstN][8]float64) {
	for i, v := range vmConstValues {
		for j := range t[i] {
			t[i][j] = v
		}
	}
	return t
}()
