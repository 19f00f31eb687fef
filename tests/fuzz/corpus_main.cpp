// Replays fuzz inputs through a libFuzzer target without libFuzzer, so that a
// fuzz corpus runs as an ordinary regression test with any compiler.
//
// Usage: corpus_replay PATH...
//   Each PATH is a file or a folder; folders are walked recursively and their
//   regular files are run in name order. Arguments starting with '-' (libFuzzer
//   flags such as -runs=0) are ignored, as libFuzzer's own replay ignores
//   inputs it is not asked to mutate.
//
// Exit status: 0 when every input ran; the target's own abort (a failed check,
// a sanitizer report) ends the process with that signal; 1 when an input
// cannot be read, a path does not exist, or no input was found at all (so a
// misplaced corpus never passes silently).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;

bool read_file(const fs::path& path, std::vector<std::uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// The inputs named by `arg`, or false when it does not exist.
bool collect(const fs::path& arg, std::vector<fs::path>& inputs) {
  std::error_code ec;
  const fs::file_status st = fs::status(arg, ec);
  if (ec || !fs::exists(st)) return false;
  if (!fs::is_directory(st)) {
    inputs.push_back(arg);
    return true;
  }
  std::vector<fs::path> found;
  for (fs::recursive_directory_iterator it(arg, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) found.push_back(it->path());
  }
  if (ec) return false;
  std::sort(found.begin(), found.end());
  inputs.insert(inputs.end(), found.begin(), found.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);

  std::vector<fs::path> inputs;
  bool named_any = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] == '-') continue;
    named_any = true;
    if (!collect(arg, inputs)) {
      std::fprintf(stderr, "corpus: %s: no such file or folder\n", arg.c_str());
      return 1;
    }
  }
  if (!named_any) {
    std::fprintf(stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
    return 1;
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "corpus: no inputs found\n");
    return 1;
  }

  std::vector<std::uint8_t> data;
  for (const fs::path& path : inputs) {
    if (!read_file(path, data)) {
      std::fprintf(stderr, "corpus: cannot read %s\n", path.c_str());
      return 1;
    }
    // Printed before the run, so that the input is named if the target aborts.
    std::fprintf(stderr, "Running: %s (%zu bytes)\n", path.c_str(), data.size());
    std::fflush(stderr);
    const auto start = std::chrono::steady_clock::now();
    // A copy in its own allocation, so that AddressSanitizer (when enabled)
    // sees reads past the end of the input.
    // An empty input still gets a valid pointer, as under libFuzzer.
    std::vector<std::uint8_t> copy(data);
    static const std::uint8_t kNoBytes = 0;
    LLVMFuzzerTestOneInput(copy.empty() ? &kNoBytes : copy.data(), copy.size());
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    std::fprintf(stderr, "Executed %s in %lld ms\n", path.c_str(), static_cast<long long>(ms));
  }
  std::fprintf(stderr, "corpus: %zu input(s) ran without a failure\n", inputs.size());
  return 0;
}
