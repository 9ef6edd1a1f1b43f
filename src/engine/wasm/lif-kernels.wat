;; The LIF forward and adjoint kernels in WebAssembly, for the tfjs wasm backend: the same operations in
;; the same order as lif-forward-kernel.ts and lif-adjoint-kernel.ts (read those for the equations), but
;; in native float32 (wasm f32 arithmetic is IEEE single precision, never fused) and four neurons per
;; SIMD vector. They work in place on the backend's heap: every pointer is a byte offset into the
;; memory imported from the tfjs wasm module. Bool tensors are one byte per element. Stacked trials
;; (trial-axis.ts): W and G hold one [Nin, N] matrix per trial, and sample b uses the matrix of trial
;; floor(b / perTrial) (perTrial = B for a single network).
;; The subnormal rule (numerics/flush.ts): the states I, V (forward) and lamI, lamV (adjoint) are
;; flushed to +0 each step where |value| < FLT_MIN = 2^-126: one abs, one compare and one andnot per
;; vector (a select for single lanes). Intermediate products and sums are not flushed.

(module
  (import "env" "memory" (memory 1))

  ;; One sample's input spikes as per-step lists: inputs that spiked at step i are
  ;; index[start[i]] .. index[start[i+1]-1], ascending. start: T+1 i32, index: T*width i32.
  (func $load_lists (param $raster i32) (param $b i32) (param $T i32) (param $width i32)
                    (param $start i32) (param $index i32)
    (local $i i32) (local $k i32) (local $p i32) (local $base i32)
    (block $done (loop $steps
      (br_if $done (i32.ge_u (local.get $i) (local.get $T)))
      (i32.store (i32.add (local.get $start) (i32.shl (local.get $i) (i32.const 2))) (local.get $p))
      (local.set $base (i32.add (local.get $raster)
        (i32.mul (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $i)) (local.get $width))))
      (local.set $k (i32.const 0))
      (block $kd (loop $ks
        (br_if $kd (i32.ge_u (local.get $k) (local.get $width)))
        ;; spike rasters are sparse: skip eight silent inputs at once where the row has eight left
        (if (i32.le_u (i32.add (local.get $k) (i32.const 8)) (local.get $width))
          (then (if (i64.eqz (i64.load (i32.add (local.get $base) (local.get $k))))
            (then
              (local.set $k (i32.add (local.get $k) (i32.const 8)))
              (br $ks)))))
        (if (i32.load8_u (i32.add (local.get $base) (local.get $k)))
          (then
            (i32.store (i32.add (local.get $index) (i32.shl (local.get $p) (i32.const 2))) (local.get $k))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $ks)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $steps)))
    (i32.store (i32.add (local.get $start) (i32.shl (local.get $T) (i32.const 2))) (local.get $p)))


  ;; ---------------------------------------------------------------------------------------------
  ;; Forward: s[b,i,j], D[b,i,j] from sIn[b,i,k] and W[k,j] (outputs zero-filled by the caller).
  (func (export "lif_forward")
        (param $sIn i32) (param $W i32) (param $s i32) (param $D i32)
        (param $B i32) (param $T i32) (param $Nin i32) (param $N i32)
        (param $alpha f32) (param $beta f32) (param $omb f32) (param $theta f32)
        (param $start i32) (param $index i32) (param $perTrial i32)
    (local $Wb i32) (local $b i32) (local $j i32) (local $i i32) (local $q i32) (local $end i32) (local $o i32)
    (local $x v128) (local $I v128) (local $V v128) (local $m v128)
    (local $xs f32) (local $Is f32) (local $Vs f32)
    (local $alphaV v128) (local $betaV v128) (local $ombV v128) (local $thetaV v128) (local $minV v128)
    (local.set $minV (f32x4.splat (f32.const 0x1p-126)))
    (local.set $alphaV (f32x4.splat (local.get $alpha)))
    (local.set $betaV (f32x4.splat (local.get $beta)))
    (local.set $ombV (f32x4.splat (local.get $omb)))
    (local.set $thetaV (f32x4.splat (local.get $theta)))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $B)))
      (call $load_lists (local.get $sIn) (local.get $b) (local.get $T) (local.get $Nin) (local.get $start) (local.get $index))
      ;; this sample's trial's weights: W + floor(b / perTrial) * Nin * N floats
      (local.set $Wb (i32.add (local.get $W) (i32.shl
        (i32.mul (i32.div_u (local.get $b) (local.get $perTrial)) (i32.mul (local.get $Nin) (local.get $N))) (i32.const 2))))
      (local.set $j (i32.const 0))
      ;; four neurons per vector
      (block $vdone (loop $vloop
        (br_if $vdone (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $N)))
        (local.set $I (v128.const i32x4 0 0 0 0))
        (local.set $V (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 1))
        (block $idone (loop $iloop
          (br_if $idone (i32.ge_u (local.get $i) (local.get $T)))
          ;; 1. x = sum of W rows of the inputs that spiked at i-1, ascending, from zero
          (local.set $x (v128.const i32x4 0 0 0 0))
          (local.set $q (i32.load (i32.add (local.get $start) (i32.shl (i32.sub (local.get $i) (i32.const 1)) (i32.const 2)))))
          (local.set $end (i32.load (i32.add (local.get $start) (i32.shl (local.get $i) (i32.const 2)))))
          (block $qdone (loop $qloop
            (br_if $qdone (i32.ge_u (local.get $q) (local.get $end)))
            (local.set $x (f32x4.add (local.get $x)
              (v128.load (i32.add (local.get $Wb) (i32.shl
                (i32.add (i32.mul (i32.load (i32.add (local.get $index) (i32.shl (local.get $q) (i32.const 2)))) (local.get $N)) (local.get $j))
                (i32.const 2))))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $qloop)))
          ;; I = flush(alpha*I + x);  V = flush(beta*V + (1-beta)*I)
          (local.set $I (f32x4.add (f32x4.mul (local.get $alphaV) (local.get $I)) (local.get $x)))
          (local.set $I (v128.andnot (local.get $I) (f32x4.lt (f32x4.abs (local.get $I)) (local.get $minV))))
          (local.set $V (f32x4.add (f32x4.mul (local.get $betaV) (local.get $V)) (f32x4.mul (local.get $ombV) (local.get $I))))
          (local.set $V (v128.andnot (local.get $V) (f32x4.lt (f32x4.abs (local.get $V)) (local.get $minV))))
          ;; spike where V > theta: record s and D = I - Vpre per lane, then reset those lanes
          (local.set $m (f32x4.gt (local.get $V) (local.get $thetaV)))
          (if (v128.any_true (local.get $m))
            (then
              (local.set $o (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $i)) (local.get $N)) (local.get $j)))
              (if (i32x4.extract_lane 0 (local.get $m)) (then
                (i32.store8 offset=0 (i32.add (local.get $s) (local.get $o)) (i32.const 1))
                (f32.store offset=0 (i32.add (local.get $D) (i32.shl (local.get $o) (i32.const 2)))
                  (f32.sub (f32x4.extract_lane 0 (local.get $I)) (f32x4.extract_lane 0 (local.get $V))))))
              (if (i32x4.extract_lane 1 (local.get $m)) (then
                (i32.store8 offset=1 (i32.add (local.get $s) (local.get $o)) (i32.const 1))
                (f32.store offset=4 (i32.add (local.get $D) (i32.shl (local.get $o) (i32.const 2)))
                  (f32.sub (f32x4.extract_lane 1 (local.get $I)) (f32x4.extract_lane 1 (local.get $V))))))
              (if (i32x4.extract_lane 2 (local.get $m)) (then
                (i32.store8 offset=2 (i32.add (local.get $s) (local.get $o)) (i32.const 1))
                (f32.store offset=8 (i32.add (local.get $D) (i32.shl (local.get $o) (i32.const 2)))
                  (f32.sub (f32x4.extract_lane 2 (local.get $I)) (f32x4.extract_lane 2 (local.get $V))))))
              (if (i32x4.extract_lane 3 (local.get $m)) (then
                (i32.store8 offset=3 (i32.add (local.get $s) (local.get $o)) (i32.const 1))
                (f32.store offset=12 (i32.add (local.get $D) (i32.shl (local.get $o) (i32.const 2)))
                  (f32.sub (f32x4.extract_lane 3 (local.get $I)) (f32x4.extract_lane 3 (local.get $V))))))
              (local.set $V (v128.andnot (local.get $V) (local.get $m)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $iloop)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $vloop)))
      ;; the remaining neurons one at a time
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $N)))
        (local.set $Is (f32.const 0))
        (local.set $Vs (f32.const 0))
        (local.set $i (i32.const 1))
        (block $idone2 (loop $iloop2
          (br_if $idone2 (i32.ge_u (local.get $i) (local.get $T)))
          (local.set $xs (f32.const 0))
          (local.set $q (i32.load (i32.add (local.get $start) (i32.shl (i32.sub (local.get $i) (i32.const 1)) (i32.const 2)))))
          (local.set $end (i32.load (i32.add (local.get $start) (i32.shl (local.get $i) (i32.const 2)))))
          (block $qdone2 (loop $qloop2
            (br_if $qdone2 (i32.ge_u (local.get $q) (local.get $end)))
            (local.set $xs (f32.add (local.get $xs)
              (f32.load (i32.add (local.get $Wb) (i32.shl
                (i32.add (i32.mul (i32.load (i32.add (local.get $index) (i32.shl (local.get $q) (i32.const 2)))) (local.get $N)) (local.get $j))
                (i32.const 2))))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $qloop2)))
          (local.set $Is (f32.add (f32.mul (local.get $alpha) (local.get $Is)) (local.get $xs)))
          (local.set $Is (select (f32.const 0) (local.get $Is) (f32.lt (f32.abs (local.get $Is)) (f32.const 0x1p-126))))
          (local.set $Vs (f32.add (f32.mul (local.get $beta) (local.get $Vs)) (f32.mul (local.get $omb) (local.get $Is))))
          (local.set $Vs (select (f32.const 0) (local.get $Vs) (f32.lt (f32.abs (local.get $Vs)) (f32.const 0x1p-126))))
          (if (f32.gt (local.get $Vs) (local.get $theta))
            (then
              (local.set $o (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $i)) (local.get $N)) (local.get $j)))
              (i32.store8 (i32.add (local.get $s) (local.get $o)) (i32.const 1))
              (f32.store (i32.add (local.get $D) (i32.shl (local.get $o) (i32.const 2))) (f32.sub (local.get $Is) (local.get $Vs)))
              (local.set $Vs (f32.const 0))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $iloop2)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $sloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop))))

  ;; ---------------------------------------------------------------------------------------------
  ;; The latest step i <= T-2 at which one of neurons j..j+width-1 of sample b gets an error at a
  ;; spike (s and e nonzero at step i+1); -1 if none. Before it, in reverse time, the adjoint is zero.
  (func $first_live (param $s i32) (param $e i32) (param $b i32) (param $T i32) (param $N i32)
                    (param $j i32) (param $width i32) (result i32)
    (local $i i32) (local $l i32) (local $next i32)
    (local.set $i (i32.sub (local.get $T) (i32.const 2)))
    (block $done (loop $steps
      (br_if $done (i32.lt_s (local.get $i) (i32.const 0)))
      (local.set $next (i32.add (i32.mul (i32.add (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $i)) (i32.const 1)) (local.get $N)) (local.get $j)))
      (local.set $l (i32.const 0))
      ;; a vector of four neurons with no spike at this step: nothing to check
      (if (i32.eq (local.get $width) (i32.const 4))
        (then (if (i32.eqz (i32.load (i32.add (local.get $s) (local.get $next))))
          (then (local.set $l (local.get $width))))))
      (block $ld (loop $ls
        (br_if $ld (i32.ge_u (local.get $l) (local.get $width)))
        (if (i32.and
              (i32.ne (i32.load8_u (i32.add (local.get $s) (i32.add (local.get $next) (local.get $l)))) (i32.const 0))
              (f32.ne (f32.load (i32.add (local.get $e) (i32.shl (i32.add (local.get $next) (local.get $l)) (i32.const 2)))) (f32.const 0)))
          (then (return (local.get $i))))
        (local.set $l (i32.add (local.get $l) (i32.const 1)))
        (br $ls)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $steps)))
    (i32.const -1))

  ;; Adjoint: G[k,j] (summed over the batch) and epsIn[b,i,k] from the forward trace and the errors e.
  (func (export "lif_adjoint")
        (param $sIn i32) (param $s i32) (param $D i32) (param $e i32) (param $W i32) (param $G i32) (param $epsIn i32)
        (param $B i32) (param $T i32) (param $Nin i32) (param $N i32)
        (param $alpha f32) (param $beta f32) (param $oma f32) (param $eps f32) (param $tau f32) (param $wantEps i32)
        (param $start i32) (param $index i32) (param $perTrial i32)
    (local $Wb i32) (local $Gb i32) (local $b i32) (local $j i32) (local $i i32) (local $q i32) (local $from i32) (local $to i32)
    (local $next i32) (local $o i32) (local $k i32) (local $acc f32)
    (local $lamV v128) (local $lamI v128) (local $nV v128) (local $d v128) (local $prod v128) (local $g v128) (local $sm v128)
    (local $lamVs f32) (local $lamIs f32) (local $nVs f32) (local $ds f32) (local $gs f32)
    (local $alphaV v128) (local $betaV v128) (local $omaV v128) (local $epsV v128) (local $tauV v128) (local $minV v128)
    (local.set $minV (f32x4.splat (f32.const 0x1p-126)))
    (local.set $alphaV (f32x4.splat (local.get $alpha)))
    (local.set $betaV (f32x4.splat (local.get $beta)))
    (local.set $omaV (f32x4.splat (local.get $oma)))
    (local.set $epsV (f32x4.splat (local.get $eps)))
    (local.set $tauV (f32x4.splat (local.get $tau)))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $B)))
      (call $load_lists (local.get $sIn) (local.get $b) (local.get $T) (local.get $Nin) (local.get $start) (local.get $index))
      ;; this sample's trial's weights and gradient: W, G + floor(b / perTrial) * Nin * N floats
      (local.set $Wb (i32.add (local.get $W) (i32.shl
        (i32.mul (i32.div_u (local.get $b) (local.get $perTrial)) (i32.mul (local.get $Nin) (local.get $N))) (i32.const 2))))
      (local.set $Gb (i32.add (local.get $G) (i32.sub (local.get $Wb) (local.get $W))))
      (local.set $j (i32.const 0))
      ;; four neurons per vector, from the latest first error of the four (lanes not yet live stay exactly zero)
      (block $vdone (loop $vloop
        (br_if $vdone (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $N)))
        (local.set $lamV (v128.const i32x4 0 0 0 0))
        (local.set $lamI (v128.const i32x4 0 0 0 0))
        (local.set $i (call $first_live (local.get $s) (local.get $e) (local.get $b) (local.get $T) (local.get $N) (local.get $j) (i32.const 4)))
        (block $idone (loop $iloop
          (br_if $idone (i32.lt_s (local.get $i) (i32.const 0)))
          (local.set $next (i32.add (i32.mul (i32.add (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $i)) (i32.const 1)) (local.get $N)) (local.get $j)))
          (local.set $from (i32.load (i32.add (local.get $start) (i32.shl (local.get $i) (i32.const 2)))))
          (local.set $to (i32.load (i32.add (local.get $start) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 2)))))
          ;; 1. eps_in[i] += W[k, j..j+3] * (lamV - lamI), lane by lane in ascending neuron order
          (if (i32.and (local.get $wantEps) (i32.lt_u (local.get $from) (local.get $to)))
            (then
              (local.set $d (f32x4.sub (local.get $lamV) (local.get $lamI)))
              (local.set $q (local.get $from))
              (block $qdone (loop $qloop
                (br_if $qdone (i32.ge_u (local.get $q) (local.get $to)))
                (local.set $k (i32.load (i32.add (local.get $index) (i32.shl (local.get $q) (i32.const 2)))))
                (local.set $o (i32.add (local.get $epsIn) (i32.shl
                  (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $i)) (local.get $Nin)) (local.get $k))
                  (i32.const 2))))
                (local.set $prod (f32x4.mul (local.get $d)
                  (v128.load (i32.add (local.get $Wb) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $N)) (local.get $j)) (i32.const 2))))))
                (local.set $acc (f32.load (local.get $o)))
                (local.set $acc (f32.add (local.get $acc) (f32x4.extract_lane 0 (local.get $prod))))
                (local.set $acc (f32.add (local.get $acc) (f32x4.extract_lane 1 (local.get $prod))))
                (local.set $acc (f32.add (local.get $acc) (f32x4.extract_lane 2 (local.get $prod))))
                (local.set $acc (f32.add (local.get $acc) (f32x4.extract_lane 3 (local.get $prod))))
                (f32.store (local.get $o) (local.get $acc))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $qloop)))))
          ;; 3. lamV = beta*lamV (+ (lamV + e) / (D + eps) where the neuron spiked at i+1), from the old lamV
          (local.set $nV (f32x4.mul (local.get $betaV) (local.get $lamV)))
          (local.set $sm (i32x4.ne
            (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (i32.add (local.get $s) (local.get $next)))))
            (v128.const i32x4 0 0 0 0)))
          (if (v128.any_true (local.get $sm))
            (then
              (local.set $nV (v128.bitselect
                (f32x4.add (local.get $nV)
                  (f32x4.div
                    (f32x4.add (local.get $lamV) (v128.load (i32.add (local.get $e) (i32.shl (local.get $next) (i32.const 2)))))
                    (f32x4.add (v128.load (i32.add (local.get $D) (i32.shl (local.get $next) (i32.const 2)))) (local.get $epsV))))
                (local.get $nV)
                (local.get $sm)))))
          ;; 2. lamI = alpha*lamI + (1-alpha)*lamV (old lamV); then both new values flushed
          (local.set $lamI (f32x4.add (f32x4.mul (local.get $alphaV) (local.get $lamI)) (f32x4.mul (local.get $omaV) (local.get $lamV))))
          (local.set $lamI (v128.andnot (local.get $lamI) (f32x4.lt (f32x4.abs (local.get $lamI)) (local.get $minV))))
          (local.set $lamV (v128.andnot (local.get $nV) (f32x4.lt (f32x4.abs (local.get $nV)) (local.get $minV))))
          ;; 4. G[k, j..j+3] -= tau * lamI for the inputs that spiked at i
          (if (i32.lt_u (local.get $from) (local.get $to))
            (then
              (local.set $g (f32x4.mul (local.get $tauV) (local.get $lamI)))
              (local.set $q (local.get $from))
              (block $gdone (loop $gloop
                (br_if $gdone (i32.ge_u (local.get $q) (local.get $to)))
                (local.set $o (i32.add (local.get $Gb) (i32.shl
                  (i32.add (i32.mul (i32.load (i32.add (local.get $index) (i32.shl (local.get $q) (i32.const 2)))) (local.get $N)) (local.get $j))
                  (i32.const 2))))
                (v128.store (local.get $o) (f32x4.sub (v128.load (local.get $o)) (local.get $g)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $gloop)))))
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br $iloop)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $vloop)))
      ;; the remaining neurons one at a time
      (block $sdone (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $j) (local.get $N)))
        (local.set $lamVs (f32.const 0))
        (local.set $lamIs (f32.const 0))
        (local.set $i (call $first_live (local.get $s) (local.get $e) (local.get $b) (local.get $T) (local.get $N) (local.get $j) (i32.const 1)))
        (block $idone2 (loop $iloop2
          (br_if $idone2 (i32.lt_s (local.get $i) (i32.const 0)))
          (local.set $next (i32.add (i32.mul (i32.add (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $i)) (i32.const 1)) (local.get $N)) (local.get $j)))
          (local.set $from (i32.load (i32.add (local.get $start) (i32.shl (local.get $i) (i32.const 2)))))
          (local.set $to (i32.load (i32.add (local.get $start) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 2)))))
          (if (i32.and (local.get $wantEps) (i32.lt_u (local.get $from) (local.get $to)))
            (then
              (local.set $ds (f32.sub (local.get $lamVs) (local.get $lamIs)))
              (local.set $q (local.get $from))
              (block $qdone2 (loop $qloop2
                (br_if $qdone2 (i32.ge_u (local.get $q) (local.get $to)))
                (local.set $k (i32.load (i32.add (local.get $index) (i32.shl (local.get $q) (i32.const 2)))))
                (local.set $o (i32.add (local.get $epsIn) (i32.shl
                  (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $i)) (local.get $Nin)) (local.get $k))
                  (i32.const 2))))
                (f32.store (local.get $o) (f32.add (f32.load (local.get $o))
                  (f32.mul (f32.load (i32.add (local.get $Wb) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $N)) (local.get $j)) (i32.const 2))))
                           (local.get $ds))))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $qloop2)))))
          (local.set $nVs (f32.mul (local.get $beta) (local.get $lamVs)))
          (if (i32.load8_u (i32.add (local.get $s) (local.get $next)))
            (then
              (local.set $nVs (f32.add (local.get $nVs)
                (f32.div
                  (f32.add (local.get $lamVs) (f32.load (i32.add (local.get $e) (i32.shl (local.get $next) (i32.const 2)))))
                  (f32.add (f32.load (i32.add (local.get $D) (i32.shl (local.get $next) (i32.const 2)))) (local.get $eps)))))))
          (local.set $lamIs (f32.add (f32.mul (local.get $alpha) (local.get $lamIs)) (f32.mul (local.get $oma) (local.get $lamVs))))
          (local.set $lamIs (select (f32.const 0) (local.get $lamIs) (f32.lt (f32.abs (local.get $lamIs)) (f32.const 0x1p-126))))
          (local.set $lamVs (select (f32.const 0) (local.get $nVs) (f32.lt (f32.abs (local.get $nVs)) (f32.const 0x1p-126))))
          (if (i32.lt_u (local.get $from) (local.get $to))
            (then
              (local.set $gs (f32.mul (local.get $tau) (local.get $lamIs)))
              (local.set $q (local.get $from))
              (block $gdone2 (loop $gloop2
                (br_if $gdone2 (i32.ge_u (local.get $q) (local.get $to)))
                (local.set $o (i32.add (local.get $Gb) (i32.shl
                  (i32.add (i32.mul (i32.load (i32.add (local.get $index) (i32.shl (local.get $q) (i32.const 2)))) (local.get $N)) (local.get $j))
                  (i32.const 2))))
                (f32.store (local.get $o) (f32.sub (f32.load (local.get $o)) (local.get $gs)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $gloop2)))))
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br $iloop2)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $sloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop))))
)
