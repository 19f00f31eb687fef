// The workbooks the tests read, made by real spreadsheet programs
// (tests/support/make_workbooks.py) once into the build folder, again when
// the script changes. A lock keeps parallel test processes from making them
// twice. The test target needs STOCKWATCH_WORKBOOKS_DIR (tests/CMakeLists.txt).
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace stockwatch::test {

inline std::filesystem::path fixtures() {
  namespace fs = std::filesystem;
  static const fs::path dir = [] {
    const fs::path d = STOCKWATCH_WORKBOOKS_DIR;
    const fs::path script = fs::path(STOCKWATCH_TESTS_DIR) / "support" / "make_workbooks.py";
    fs::create_directories(d.parent_path());
    const int lock = ::open((d.string() + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock fixtures");
    const fs::path stamp = d / ".made";
    std::error_code ec;
    if (!fs::exists(stamp) || fs::last_write_time(stamp, ec) < fs::last_write_time(script)) {
      fs::remove_all(d, ec);
      const std::string cmd = std::string(STOCKWATCH_PYTHON) + " " + script.string() + " " + d.string();
      if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make_workbooks.py failed");
      std::ofstream(stamp).put('\n');
    }
    ::close(lock);
    return d;
  }();
  return dir;
}

// Whether LibreOffice made its copies (it is skipped when not installed).
inline bool have_libreoffice() { return std::filesystem::exists(fixtures() / "lo" / "basic.ods"); }

}  // namespace stockwatch::test
