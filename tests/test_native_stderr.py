"""Native libraries' chatter stays off the terminal, and stderr works again afterwards."""

import subprocess
import sys
import textwrap

from tests.conftest import REPO


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_fd2_is_silenced_inside_and_restored_after_even_from_threads():
    r = run_python("""
        import os, threading
        from realtime_ser.native_stderr import native_stderr_silenced
        os.write(2, b"before\\n")
        def chatter():
            for _ in range(50):
                with native_stderr_silenced():
                    os.write(2, b"native chatter\\n")
        threads = [threading.Thread(target=chatter) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        with native_stderr_silenced():
            with native_stderr_silenced():  # nested in one thread
                os.write(2, b"nested chatter\\n")
            os.write(2, b"outer chatter\\n")
        try:
            with native_stderr_silenced():
                raise KeyError("boom")
        except KeyError:
            pass
        os.write(2, b"after\\n")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == ["before", "after"]


def test_loading_the_real_model_and_probing_a_bad_mp3_print_nothing(tmp_path):
    bad = tmp_path / "notes.mp3"
    bad.write_text("this is not audio\\n" * 50)
    r = run_python(f"""
        from realtime_ser.audio.io import audio_duration
        from realtime_ser.errors import AudioFileError
        from realtime_ser.model.emotion_model import EmotionModel
        model = EmotionModel.load()
        assert model.predict_window(__import__("numpy").zeros(48000, "float32")).shape == (len(model.labels),)
        try:
            audio_duration({str(bad)!r})
        except AudioFileError:
            print("refused")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "refused"
    assert r.stderr == ""
