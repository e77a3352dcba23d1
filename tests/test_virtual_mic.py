"""The live path through a real audio server: PulseAudio virtual microphone -> PortAudio -> pipeline.

A clip is played into the daemon's null sink with paplay while the pipeline captures
from ALSA's ``pulse`` device (the virtual source over the sink's monitor).  No mocks:
real daemon, real PortAudio stream, real model.
"""

import json
import signal
import time

import numpy as np
import pytest

from realtime_ser.audio.devices import list_devices
from realtime_ser.audio.io import load_audio
from realtime_ser.audio.sources import MicrophoneSource
from realtime_ser.dsp.vad import VADConfig, frame_energies_db
from realtime_ser.pipeline.events import EmotionEvent, SpeechEvent, StatusEvent
from realtime_ser.pipeline.worker import Pipeline, analyze_file
from tests.conftest import REPO

# Its lead-in before the speech is quiet (under -85 dBFS).  The virtual mic is digital silence until
# playback starts, so the live VAD's noise floor sits far lower than analyze's, which starts on the
# clip's own lead-in: a clip with a breath or rustle near the VAD's absolute gate (-60 dBFS) may then
# open its utterance early live and not offline (the clip used before had frames at -57 dBFS there).
CLIP = "ravdess/Actor_01/03-01-07-02-02-01-01.flac"


def finals(events):
    return [e for e in events if isinstance(e, EmotionEvent) and e.final]


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def offline_alignments(clip, model, folder):
    """``analyze`` of the clip delayed by 0..9 ms: every alignment to the 10 ms feature hop that a live
    capture, which starts at an arbitrary sample, can have."""
    import soundfile as sf

    audio = load_audio(clip, model.metadata.features.sample_rate)
    out = []
    for ms in range(10):
        path = folder / f"aligned-{ms}.wav"
        sf.write(path, np.concatenate([np.zeros(16 * ms, np.float32), audio]), 16000)
        out.append(finals(analyze_file(path, model))[0])
    return out


def play_and_capture(pulse, pipe, clip, seen):
    """Play ``clip`` and return the stream time at which playback started."""
    t_play = pipe.stats.stream_time
    player = pulse.play(clip)
    assert player.wait(timeout=20) == 0
    n = len(finals(seen))
    assert wait_for(lambda: len(finals(seen)) > n - 1 and not pipe.stats.in_speech, 5)
    time.sleep(0.5)
    return t_play


def test_live_capture_matches_clip_timing_and_analyze(pulse, model, data, tmp_path):
    assert any(d.name == "pulse" and d.is_input for d in list_devices())
    clip = data / CLIP
    offline = analyze_file(clip, model)
    off_final = finals(offline)[0]
    audio = load_audio(clip, 16000)
    lead_in = frame_energies_db(audio[: int((off_final.start - 0.1) * 16000) // 160 * 160].reshape(-1, 160))
    assert lead_in.max() < VADConfig().min_level_dbfs - 10  # see CLIP

    src = MicrophoneSource("pulse")
    pipe = Pipeline(src, model)
    seen = []
    pipe.add_event_listener(seen.append)
    pipe.start()
    try:
        assert wait_for(lambda: pipe.stats.stream_time > 0.5, 5), "no audio from the virtual mic"
        t_play = play_and_capture(pulse, pipe, clip, seen)
    finally:
        pipe.stop()
    assert pipe.error is None
    speech = [e for e in seen if isinstance(e, SpeechEvent)]
    assert [e.kind for e in speech] == ["start", "end"]
    live_final = finals(seen)
    assert len(live_final) == 1
    # timing: the clip's utterance as analyze found it, shifted by when playback started
    assert abs(speech[0].time - (t_play + off_final.start)) <= 0.3
    assert abs(speech[1].time - (t_play + off_final.end)) <= 0.3
    # agreement with analyze: same label, and the same probabilities as analyze of the clip at the
    # alignment to the 10 ms feature hop that the capture had (it starts at an arbitrary sample; for a
    # clip the model is torn on, a few ms of misalignment alone moves a probability by up to ~0.2)
    live = live_final[0]
    assert live.top_label == off_final.top_label
    diff = min(max(abs(live.probabilities[k] - a.probabilities[k]) for k in model.labels)
               for a in offline_alignments(clip, model, tmp_path))
    assert diff < 0.15
    assert live.latency_ms <= 150
    assert pipe.stats.dropped_samples == 0


def test_starved_worker_counts_overruns_and_recovers(pulse, model, data):
    """An audio listener that blocks for longer than the ring buffer holds: the callback keeps
    the newest audio, the overrun is counted and reported, and speech is still recognised after."""
    src = MicrophoneSource("pulse", buffer_seconds=1.0)
    pipe = Pipeline(src, model)
    seen = []
    stall = {"done": False}

    def slow_consumer(block, t):
        if t > 0.5 and not stall["done"]:
            stall["done"] = True
            time.sleep(2.0)

    pipe.add_event_listener(seen.append)
    pipe.add_audio_listener(slow_consumer)
    pipe.start()
    try:
        assert wait_for(lambda: stall["done"] and pipe.stats.dropped_samples > 0, 8)
        assert wait_for(lambda: any(isinstance(e, StatusEvent) and "overrun" in e.message for e in seen), 3)
        play_and_capture(pulse, pipe, data / CLIP, seen)
        assert pipe.running
    finally:
        pipe.stop()
    stats = pipe.stats
    assert stats.overruns >= 1 and stats.dropped_samples >= 0.5 * src.capture_rate
    assert len(finals(seen)) == 1
    # stream time kept counting through the gap (it follows the wall clock, not the samples read)
    assert stats.stream_time > 3.5


def test_device_disappearing_mid_stream_reconnects(pulse, model, data):
    src = MicrophoneSource("pulse", stall_timeout=0.5, reconnect_interval=0.3)
    pipe = Pipeline(src, model)
    seen = []
    pipe.add_event_listener(seen.append)
    pipe.start()
    try:
        assert wait_for(lambda: pipe.stats.stream_time > 0.5, 5)
        started = time.monotonic() - pipe.stats.stream_time  # the wall-clock moment of stream time 0
        pulse.stop(signal.SIGKILL)  # the audio server vanishes like an unplugged USB mic
        assert wait_for(lambda: any(isinstance(e, StatusEvent) and e.level == "error" for e in seen), 5)
        assert pipe.running and src.lost
        time.sleep(2.0)  # unplugged for a while
        pulse.start()
        assert wait_for(lambda: any(isinstance(e, StatusEvent) and "reconnected" in e.message for e in seen), 10)
        assert not src.lost and src.reconnects == 1
        t = pipe.stats.stream_time
        assert wait_for(lambda: pipe.stats.stream_time > t + 0.5, 5), "no audio after reconnecting"
        # the time without a device counts: stream time still follows the wall clock (it fell behind
        # by the outage, so results, typed markers and a recording's times drifted)
        assert abs((time.monotonic() - started) - pipe.stats.stream_time) < 0.5
        play_and_capture(pulse, pipe, data / CLIP, seen)
    finally:
        pipe.stop()
    assert pipe.error is None
    assert len(finals(seen)) == 1


def test_cli_listen_through_virtual_mic(pulse, data, tmp_path, model_path):
    import subprocess
    import sys

    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_ser", "listen", "--device", "pulse", "--duration", "6",
         "--output", str(out), "--model", model_path],
        cwd=REPO, env=pulse.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    head = ""
    while not head.endswith("(Ctrl-C to stop)\n"):  # printed once capture runs
        line = proc.stderr.readline()
        assert line, head
        head += line
    time.sleep(0.5)
    player = pulse.play(data / CLIP)
    assert player.wait(timeout=20) == 0
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["kind"] for e in events if e["type"] == "speech"] == ["start", "end"]
    assert "FINAL" in stdout and "--- summary ---" in stderr and "Traceback" not in stderr



def test_cli_listen_names_the_microphone_it_recorded_and_ends_cleanly_on_a_terminal(pulse, tmp_path, model_path):
    """The session's manifest named every input "microphone" (the recorder starts before the input
    opens); and on a terminal, where a thread waits for typed notes, the end printed ~20 lines of
    'nanobind: leaked ...' (that thread kept the pipeline's extension objects alive at exit)."""
    import shlex
    import subprocess
    import sys

    from realtime_ser.session import Session

    command = shlex.join([sys.executable, "-m", "realtime_ser", "listen", "--device", "pulse:vmic", "--duration",
                          "2", "--record", str(tmp_path / "s"), "--model", model_path])
    # `script` gives listen a terminal; its stdin stays open (as a user's would) until after the end
    proc = subprocess.run(f"(sleep 8) | script -qec {shlex.quote(command)} /dev/null", shell=True, cwd=REPO,
                          env=pulse.env, capture_output=True, text=True, timeout=60)
    said = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "--- summary ---" in said, said
    assert "nanobind" not in said and "leaked" not in said and "Traceback" not in said, said
    shown = next(line for line in said.splitlines() if line.startswith("listening on ")).split(" (type")[0]
    (folder,) = (tmp_path / "s").iterdir()
    device = Session.open(folder).manifest["device"]
    assert device != "microphone" and shown == f"listening on {device}", (device, shown)


def test_parec_piped_in_as_headerless_pcm(pulse, data, tmp_path, model_path):
    """``parec | realtime-ser listen --device - --raw s16le:44100:2``: the audio server's own recorder,
    in its default layout (no header), where PortAudio would see no device."""
    import subprocess
    import sys

    parec = subprocess.Popen(["parec", "--device=vmic"], env=pulse.env, stdout=subprocess.PIPE)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "realtime_ser", "listen", "--device", "-", "--raw", "s16le:44100:2",
             "--duration", "6", "--output", str(tmp_path / "events.jsonl"), "--model", model_path],
            cwd=REPO, env=pulse.env, stdin=parec.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        parec.stdout.close()  # the listener's now: parec sees the pipe close when it ends
        head = ""
        while not head.endswith("Ctrl-C to stop)\n"):
            line = proc.stderr.readline()
            assert line, head
            head += line
        assert "listening on standard input" in head
        player = pulse.play(data / CLIP)
        assert player.wait(timeout=20) == 0
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        parec.kill()
        parec.wait()
    assert proc.returncode == 0, stderr
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in events if e["type"] == "speech"] == ["start", "end"]
    assert "FINAL" in stdout and "audio: 6.0 s" in stderr and "Traceback" not in stderr

def test_a_silent_input_is_reported_and_its_return(pulse, model, data):
    """Nothing playing into the virtual microphone is digital silence, as a muted microphone sends."""
    pipe = Pipeline(MicrophoneSource("pulse"), model)
    seen = []
    pipe.add_event_listener(seen.append)
    pipe.start()
    try:
        assert wait_for(lambda: pipe.stats.input_problem == "silent", 8)
        (warning,) = [e for e in seen if isinstance(e, StatusEvent) and "silent" in e.message]
        assert warning.level == "warning" and 2.9 <= warning.time <= 6.0
        play_and_capture(pulse, pipe, data / CLIP, seen)
        assert any(isinstance(e, StatusEvent) and e.message == "the input is live again" for e in seen)
    finally:
        pipe.stop()
    assert len(finals(seen)) == 1


def test_virtual_mic_help_starts_no_daemon():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "tools.virtual_mic", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=10)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: python -m tools.virtual_mic"), proc
    assert "PULSE_SERVER" not in proc.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_virtual_mic_stopped_by_a_signal_leaves_nothing_behind(sig):
    """kill, `timeout` or a closed terminal stop it as Ctrl-C does: the daemon and its temp dir go too
    (they were left behind: only SIGINT was handled)."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    from tools.virtual_mic import _pid_alive

    proc = subprocess.Popen([sys.executable, "-m", "tools.virtual_mic"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the daemon answers
        m = re.search(r"PULSE_SERVER=unix:(\S+)/native", line)
        assert m, (line, proc.stderr.read() if proc.poll() is not None else "")
        root = Path(m.group(1))
        daemon = int((root / "run" / "pulse" / "pid").read_text().split()[0])
        assert _pid_alive(daemon)
        proc.send_signal(sig)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not _pid_alive(daemon)
    assert not root.exists()
