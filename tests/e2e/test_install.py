"""End to end: `cmake --install` (what `make install` runs) into a DESTDIR:
the binary, the unit, the template, every operator document, and the
configuration in /etc/stockwatch, which a second install never replaces;
and where each goes with another prefix."""

import os
import shutil
import stat
import subprocess
import tempfile
import unittest

import harness

SOURCE_UNIT = os.path.join(harness.SOURCE_DIR, "packaging", "stockwatch.service")
TEMPLATE = os.path.join(harness.SOURCE_DIR, "packaging", "stockwatch.toml")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class InstallTest(unittest.TestCase):

    def setUp(self):
        if not os.path.exists(os.path.join(harness.BUILD_DIR, "cmake_install.cmake")):
            self.skipTest("the build is not configured with CMake")
        self.destdir = tempfile.mkdtemp(prefix="stockwatch-install-")
        self.addCleanup(shutil.rmtree, self.destdir, ignore_errors=True)

    def install(self, prefix):
        env = dict(os.environ, DESTDIR=self.destdir)
        r = subprocess.run(["cmake", "--install", harness.BUILD_DIR, "--prefix", prefix],
                           capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def path(self, absolute):
        return os.path.join(self.destdir, absolute.lstrip("/"))

    def test_prefix_usr_installs_the_configuration_once(self):
        self.install("/usr")
        for want in ("/usr/bin/stockwatch", "/usr/share/stockwatch/stockwatch.toml",
                     "/usr/share/doc/stockwatch/stockwatch.toml.example",
                     "/usr/share/doc/stockwatch/README.md",
                     *(f"/usr/share/doc/stockwatch/{d}" for d in harness.operator_docs())):
            self.assertTrue(os.path.isfile(self.path(want)), want)
        # With /usr the unit is the file in packaging/, unchanged.
        self.assertEqual(read(self.path("/usr/lib/systemd/system/stockwatch.service")),
                         read(SOURCE_UNIT))

        config = self.path("/etc/stockwatch/stockwatch.toml")
        self.assertEqual(read(config), read(TEMPLATE))
        self.assertEqual(stat.S_IMODE(os.stat(config).st_mode), 0o644)
        self.assertIn("# ", read(config).splitlines()[0], "the example is commented")
        r = subprocess.run([self.path("/usr/bin/stockwatch"), "check-config", "--config", config],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        # An administrator edits it; installing again keeps the edit.
        with open(config, "a", encoding="utf-8") as f:
            f.write("# edited\n")
        out = self.install("/usr")
        self.assertTrue(read(config).endswith("# edited\n"))
        self.assertIn("Keeping: " + config, out)

    def test_another_prefix_moves_the_configuration_and_the_unit_follows(self):
        for prefix, etc in (("/usr/local", "/usr/local/etc"), ("/opt/stockwatch", "/etc/opt/stockwatch")):
            with self.subTest(prefix=prefix):
                self.install(prefix)
                config = f"{etc}/stockwatch/stockwatch.toml"
                self.assertEqual(read(self.path(config)), read(TEMPLATE))
                unit = read(self.path(f"{prefix}/lib/systemd/system/stockwatch.service"))
                self.assertIn(f"ExecStart={prefix}/bin/stockwatch serve --config {config}\n", unit)
                self.assertIn(f"LoadCredential=smtp-password:{etc}/stockwatch/smtp-password\n",
                              unit)
                self.assertIn(f"Documentation=file:{prefix}/share/doc/stockwatch/operations.md\n",
                              unit)
                self.assertNotIn("/usr/bin/", unit)
        self.assertFalse(os.path.exists(self.path("/etc/stockwatch")))


if __name__ == "__main__":
    unittest.main()
