#!/usr/bin/python3
"""The HTML report in a real browser: Debian's headless Chromium, driven through
chromedriver by Debian's python3-selenium. Makes a genuine clip and a lame 128 kbps round
trip (sox, lame, flac), scans them with a missing file and a file with markup in its
name, writes the report, opens it, and checks what a person would: every record is a
row, the spectrogram of the flagged file decodes, the verdict boxes and the path filter
hide and show the right rows, and a header click sorts.
Usage: report_browser.py FAKELESS_BIN"""
import os
import shutil
import subprocess
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

BIN = os.path.realpath(sys.argv[1])
passed = failed = 0


def check(what, ok):
    global passed, failed
    if ok:
        passed += 1
        print("ok   - " + what)
    else:
        failed += 1
        print("FAIL - " + what)


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def chromium_driver():
    opts = Options()
    for binary in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(binary):
            opts.binary_location = binary
            break
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)


def main():
    work = tempfile.mkdtemp(prefix="fakeless-browser.")
    try:
        os.chdir(work)
        run("sox", "-R", "-r", "44100", "-n", "-b", "16", "-c", "2", "tone.wav", "synth", "8", "pluck", "C3",
            "pluck", "E3", "pluck", "G3", "vol", "0.4", stderr=subprocess.DEVNULL)
        run("sox", "-R", "-r", "44100", "-n", "-b", "16", "-c", "2", "hiss.wav", "synth", "8", "pinknoise",
            "vol", "0.08", stderr=subprocess.DEVNULL)
        run("sox", "-R", "-m", "tone.wav", "hiss.wav", "-b", "16", "genuine.wav")
        os.mkdir("music")
        run("flac", "-s", "-f", "-o", "music/genuine.flac", "genuine.wav")
        run("lame", "--silent", "-b", "128", "genuine.wav", "g.mp3")
        run("lame", "--silent", "--decode", "g.mp3", "d.wav")
        run("flac", "-s", "-f", "-o", "music/mp3_128.flac", "d.wav")
        odd = "music/<b>odd & \"quoted\" 'name'.flac"
        shutil.copy("music/genuine.flac", odd)
        with open("results.ndjson", "wb") as out:
            subprocess.run([BIN, "scan", "--ordered", "--format", "ndjson", "music", "music/missing.flac"],
                           stdout=out, stderr=subprocess.DEVNULL)
        run(BIN, "report", "results.ndjson", "-o", "report.html", "-q")
        page = open("report.html", encoding="utf-8").read()
        check("the page names the odd file only escaped", "<b>odd" not in page and "&lt;b&gt;odd" in page)

        driver = chromium_driver()
        try:
            driver.get("file://" + os.path.join(work, "report.html"))
            rows = driver.find_elements(By.CSS_SELECTOR, "#results tbody tr")

            def visible():
                return [r for r in driver.find_elements(By.CSS_SELECTOR, "#results tbody tr") if r.is_displayed()]

            def verdicts(rs):
                return sorted(r.get_attribute("data-verdict") for r in rs)

            check("one row per record (4)", len(rows) == 4)
            check("all rows shown at first", len(visible()) == 4)
            check("verdicts: 2 lossless, 1 lossy, 1 error",
                  verdicts(rows) == ["error", "lossless", "lossless", "lossy"])
            odd_row = [r for r in rows if "odd" in r.get_attribute("data-path")]
            check("the odd path is shown literally",
                  len(odd_row) == 1 and odd_row[0].find_element(By.CSS_SELECTOR, "td.path").text.endswith(
                      "<b>odd & \"quoted\" 'name'.flac"))
            imgs = driver.find_elements(By.CSS_SELECTOR, "img.spec")
            check("one spectrogram, for the lossy file", len(imgs) == 1)
            if imgs:
                w = driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", imgs[0])
                check("the spectrogram decodes in the browser (800 px wide: %s)" % w, w == 800)
                check("the image is a data: URI", imgs[0].get_attribute("src").startswith("data:image/png;base64,"))

            driver.find_element(By.ID, "only-flagged").click()
            check("'only flagged' shows just the lossy row", verdicts(visible()) == ["lossy"])
            driver.find_element(By.ID, "show-all").click()
            check("'show all' shows every row again", len(visible()) == 4)
            driver.find_element(By.CSS_SELECTOR, "#controls input[value=lossless]").click()
            check("unticking lossless hides both lossless rows", verdicts(visible()) == ["error", "lossy"])
            driver.find_element(By.CSS_SELECTOR, "#controls input[value=error]").click()
            check("unticking error too leaves the lossy row", verdicts(visible()) == ["lossy"])
            check("the count says so", driver.find_element(By.ID, "shown").text == "1 of 4 shown")
            driver.find_element(By.ID, "show-all").click()
            q = driver.find_element(By.ID, "q")
            q.send_keys("ODD &")
            shown = visible()
            check("the path filter (case-insensitive) finds the odd file",
                  len(shown) == 1 and "odd" in shown[0].get_attribute("data-path"))
            q.clear()
            q.send_keys("x")  # clear() fires no input event: type and erase to re-filter
            q.send_keys("\b")
            check("an empty filter shows all", len(visible()) == 4)

            header = driver.find_element(By.XPATH, "//th[normalize-space()='cutoff (kHz)']")
            header.click()
            first = visible()[0]
            check("sorting by cutoff puts the only file with a cutoff first",
                  first.get_attribute("data-verdict") == "lossy")
            header.click()
            check("a second click sorts descending (nulls stay last)",
                  visible()[0].get_attribute("data-verdict") == "lossy" and header.get_attribute("aria-sort") ==
                  "descending")
            p_lossy = driver.find_element(By.XPATH, "//th[normalize-space()='p_lossy']")
            p_lossy.click()
            check("p_lossy ascending: lossless, lossless, lossy, then the error (no value)",
                  [r.get_attribute("data-verdict") for r in visible()] == ["lossless", "lossless", "lossy", "error"])
            p_lossy.click()
            check("p_lossy descending: lossy first, the error still last",
                  [r.get_attribute("data-verdict") for r in visible()] == ["lossy", "lossless", "lossless", "error"])
            driver.find_element(By.XPATH, "//th[normalize-space()='path']").click()
            paths = [r.get_attribute("data-path") for r in visible()]
            check("sorting by path orders the rows by path", paths == sorted(paths, key=str.lower))
            errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
            check("no errors in the browser console (%s)" % errors, not errors)
        finally:
            driver.quit()
    finally:
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
