// Alert emails: the words, header safety, RFC 2047 subjects, quoted-printable
// bodies, dates and Message-IDs.
#include "notify/message.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <clocale>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace stockwatch {
namespace {

using namespace std::string_literals;

std::vector<std::string> split_crlf(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find("\r\n", start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

std::string base64_decode(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : in) {
    if (c == '=') break;
    const std::size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) return "<bad base64>";
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

// Decodes a header value made of "=?UTF-8?B?...?=" words folded with CRLF SP.
std::string decode_encoded_words(const std::string& value, std::vector<std::string>* words) {
  std::string out;
  for (const std::string& line : split_crlf(value)) {
    std::string_view word = line;
    if (!word.empty() && word.front() == ' ') word.remove_prefix(1);
    if (words != nullptr) words->emplace_back(word);
    if (word.substr(0, 10) != "=?UTF-8?B?" || word.size() < 12 ||
        word.substr(word.size() - 2) != "?=") {
      return "<not an encoded-word: " + std::string(word) + ">";
    }
    out += base64_decode(word.substr(10, word.size() - 12));
  }
  return out;
}

std::string header_block(const std::string& message) {
  return message.substr(0, message.find("\r\n\r\n") + 2);
}

MessageSpec ascii_spec() {
  MessageSpec spec;
  spec.from = "stockwatch@example.com";
  spec.to = "alice@example.com";
  spec.subject = "Inventory Alert!";
  spec.body = "Medan is out of stock of Robusta Dairi\n";
  spec.message_id = "out_of_stock.42.50b5d6f4f98359bc@example.com";
  spec.date = TimePoint(std::chrono::seconds(1'780'000'000));
  return spec;
}

TEST(Sentences, OutOfStockUsesTheCheckStockWords) {
  EXPECT_EQ(out_of_stock_sentence("Medan", "Robusta Dairi"),
            "Medan is out of stock of Robusta Dairi");
}

TEST(Sentences, ReportValuesCannotSplitALine) {
  EXPECT_EQ(out_of_stock_sentence("Medan\r\nBcc: evil@x", "Robusta\tDairi"),
            "Medan??Bcc: evil@x is out of stock of Robusta?Dairi");
  EXPECT_EQ(back_in_stock_sentence("Medan\n", "Kopi\xFF", 3), "Medan? has Kopi? back in stock (3)");
}

TEST(Sentences, BackInStockCarriesTheCount) {
  EXPECT_EQ(back_in_stock_sentence("Medan", "Robusta Dairi", 12),
            "Medan has Robusta Dairi back in stock (12)");
}

TEST(SanitizeText, KeepsPrintableTextAndValidUtf8) {
  EXPECT_EQ(sanitize_text("Gudang Cikarang — stok habis ☕ 𝄞"),
            "Gudang Cikarang — stok habis ☕ 𝄞");
  EXPECT_EQ(sanitize_text(""), "");
}

TEST(SanitizeText, ReplacesEveryControlCharacter) {
  EXPECT_EQ(sanitize_text("a\r\nb\tc"s + '\0' + "d\x7F" "e\x1B"), "a??b?c?d?e?");
}

TEST(SanitizeText, ReplacesEachInvalidUtf8Byte) {
  EXPECT_EQ(sanitize_text("x\xFFy"), "x?y");             // never valid
  EXPECT_EQ(sanitize_text("x\xE2\x82y"), "x??y");        // truncated sequence
  EXPECT_EQ(sanitize_text("x\xC0\xAFy"), "x??y");        // overlong '/'
  EXPECT_EQ(sanitize_text("x\xED\xA0\x80y"), "x???y");   // UTF-16 surrogate
  EXPECT_EQ(sanitize_text("x\xF4\x90\x80\x80y"), "x????y");  // beyond U+10FFFF
  EXPECT_EQ(sanitize_text("\x80\xE2\x82"), "???");       // stray bytes at the ends
}

TEST(RenderMessage, AsciiMessageExactly) {
  const std::string expected =
      "From: stockwatch@example.com\r\n"
      "To: alice@example.com\r\n"
      "Subject: Inventory Alert!\r\n"
      "Date: Thu, 28 May 2026 20:26:40 +0000\r\n"
      "Message-ID: <out_of_stock.42.50b5d6f4f98359bc@example.com>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "Medan is out of stock of Robusta Dairi\r\n";
  EXPECT_EQ(render_message(ascii_spec()), expected);
}

TEST(RenderMessage, BodyWithoutFinalNewlineStillEndsWithCrlf) {
  MessageSpec spec = ascii_spec();
  spec.body = "line one\nline two";
  const std::string message = render_message(spec);
  EXPECT_EQ(message.substr(message.find("\r\n\r\n") + 4), "line one\r\nline two\r\n");
}

TEST(RenderMessage, NonAsciiSubjectIsEncodedAndBodyIsQuotedPrintable) {
  MessageSpec spec = ascii_spec();
  spec.subject = "Gudang Cikarang — stok habis";
  spec.body = "Cikarang — Kopi Luwak\n";
  const std::string message = render_message(spec);
  EXPECT_NE(message.find("\r\nSubject: =?UTF-8?B?R3VkYW5nIENpa2FyYW5nIOKAlCBzdG9rIGhhYmlz?=\r\n"),
            std::string::npos);
  EXPECT_EQ(message.substr(message.find("\r\n\r\n") + 4), "Cikarang =E2=80=94 Kopi Luwak\r\n");
}

TEST(RenderMessage, LongNonAsciiSubjectFoldsWithinLineLimits) {
  MessageSpec spec = ascii_spec();
  std::string subject;
  for (int i = 0; i < 12; ++i) subject += "Gudang Cikarang — stok habis; ";
  spec.subject = subject;
  const std::string headers = header_block(render_message(spec));
  for (const std::string& line : split_crlf(headers)) {
    EXPECT_LE(line.size(), 78U) << line;
  }
  // The folded Subject decodes back to the original words.
  const std::size_t start = headers.find("Subject: ") + 9;
  const std::size_t end = headers.find("\r\nDate: ");
  EXPECT_EQ(decode_encoded_words(headers.substr(start, end - start), nullptr), subject);
}

TEST(RenderMessage, VeryLongAsciiSubjectNeverExceeds998Octets) {
  MessageSpec spec = ascii_spec();
  spec.subject = std::string(1500, 'x');
  for (const std::string& line : split_crlf(render_message(spec))) {
    EXPECT_LE(line.size(), 998U);
  }
}

TEST(RenderMessage, HeaderInjectionFromAReportAddsNoHeader) {
  const std::string store = "Medan\r\nBcc: evil@x";
  MessageSpec spec = ascii_spec();
  spec.subject = "Inventory Alert! " + store;
  spec.body = out_of_stock_sentence(store, "Robusta\rDairi") + "\n";
  spec.to = "alice@example.com\r\nBcc: evil@x";
  spec.from = "stockwatch@example.com>\nCc: <evil@x";
  spec.message_id = "id@x>\r\nBcc: evil@x";
  const std::string message = render_message(spec);
  const std::vector<std::string> headers = split_crlf(header_block(message));
  // Eight header lines, then the empty line that ends the header block.
  ASSERT_EQ(headers.size(), 9U) << message;
  const std::vector<std::string> names = {"From: ", "To: ", "Subject: ", "Date: ",
                                          "Message-ID: ", "MIME-Version: ", "Content-Type: ",
                                          "Content-Transfer-Encoding: "};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(headers[i].rfind(names[i], 0), 0U) << headers[i];
  }
  EXPECT_EQ(headers[0], "From: stockwatch@example.com??Cc: ?evil@x");
  EXPECT_EQ(headers[1], "To: alice@example.com??Bcc: evil@x");
  EXPECT_EQ(headers[2], "Subject: Inventory Alert! Medan??Bcc: evil@x");
  EXPECT_EQ(headers[4], "Message-ID: <id@x???Bcc: evil@x>");
  EXPECT_EQ(message.find("\nBcc"), std::string::npos);
  EXPECT_EQ(message.substr(message.find("\r\n\r\n") + 4),
            "Medan??Bcc: evil@x is out of stock of Robusta?Dairi\r\n");
}

TEST(RenderMessage, ABccLineInAStoreNameStaysInsideItsHeader) {
  // The store name as a quoted CSV field with a line break would carry it.
  const std::string store = "Medan\r\nBcc: evil@example.com";
  MessageSpec spec = ascii_spec();
  spec.subject = "Inventory Alert! " + store + ": 3 items out of stock";
  spec.body = out_of_stock_sentence(store, "Robusta Dairi") + "\n";
  const std::string message = render_message(spec);
  const std::string headers = header_block(message);
  EXPECT_EQ(headers.find("\nBcc"), std::string::npos) << headers;
  EXPECT_EQ(headers.find("\rBcc"), std::string::npos) << headers;
  EXPECT_NE(headers.find("\r\nSubject: Inventory Alert! Medan??Bcc: evil@example.com: 3 items out "
                         "of stock\r\n"),
            std::string::npos)
      << headers;
  EXPECT_EQ(message.substr(message.find("\r\n\r\n") + 4),
            "Medan??Bcc: evil@example.com is out of stock of Robusta Dairi\r\n");
}

TEST(RenderMessage, LongAsciiSubjectIsFoldedAtSpaces) {
  MessageSpec spec = ascii_spec();
  spec.subject = "Inventory Alert! Report rejected: reports/2026-11/gudang-cikarang-jawa-barat.csv "
                 "and some more words to fold";
  const std::string headers = header_block(render_message(spec));
  const std::vector<std::string> lines = split_crlf(headers);
  std::string unfolded;
  bool in_subject = false;
  for (const std::string& line : lines) {
    EXPECT_LE(line.size(), 78U) << line;
    if (line.rfind("Subject: ", 0) == 0) {
      in_subject = true;
      unfolded = line.substr(9);
    } else if (in_subject && !line.empty() && line[0] == ' ') {
      unfolded += line;
    } else {
      in_subject = false;
    }
  }
  EXPECT_EQ(unfolded, spec.subject);
}

TEST(RenderMessage, UnicodeStoreAndItemRoundTrip) {
  MessageSpec spec = ascii_spec();
  const std::string store = "Gudang Cikarang \u2014 Jawa";
  const std::string item = "Kopi Toraja \u201cSapan\u201d \u2615";
  spec.subject = "Inventory Alert! " + store + ": " + item + " is out of stock";
  spec.body = out_of_stock_sentence(store, item) + "\n";
  const std::string message = render_message(spec);
  for (const char ch : message) {
    EXPECT_LT(static_cast<unsigned char>(ch), 0x80U) << "raw 8-bit octet in the message";
  }
  EXPECT_EQ(message.find("Subject: Inventory Alert! Gudang"), std::string::npos)
      << "a non-ASCII subject is RFC 2047 encoded whole";
  EXPECT_NE(message.find("Subject: =?UTF-8?B?"), std::string::npos) << message;
  EXPECT_NE(message.find("Gudang Cikarang =E2=80=94 Jawa is out of stock of Kopi Toraja "),
            std::string::npos)
      << message;
}

TEST(EncodeHeaderText, PlainAsciiIsUnchanged) {
  EXPECT_EQ(encode_header_text("Inventory Alert!"), "Inventory Alert!");
  EXPECT_EQ(encode_header_text(""), "");
}

TEST(EncodeHeaderText, Rfc2047ForNonAscii) {
  EXPECT_EQ(encode_header_text("Gudang Cikarang — stok habis"),
            "=?UTF-8?B?R3VkYW5nIENpa2FyYW5nIOKAlCBzdG9rIGhhYmlz?=");
}

TEST(EncodeHeaderText, TextThatLooksEncodedIsEncoded) {
  EXPECT_EQ(encode_header_text("=?x?="), "=?UTF-8?B?PT94Pz0=?=");
}

TEST(EncodeHeaderText, WordsStayShortAndNeverSplitACharacter) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "—é𝄞a";  // 3-, 2-, 4- and 1-octet characters
  std::vector<std::string> words;
  EXPECT_EQ(decode_encoded_words(encode_header_text(text), &words), text);
  ASSERT_GT(words.size(), 1U);
  for (const std::string& word : words) {
    EXPECT_LE(word.size(), 75U);
    // Every word on its own is whole, valid UTF-8.
    const std::string decoded = base64_decode(std::string_view(word).substr(10, word.size() - 12));
    EXPECT_EQ(sanitize_text(decoded), decoded) << word;
  }
}

TEST(QuotedPrintable, ShortLinesAndLineEnds) {
  EXPECT_EQ(quoted_printable(""), "");
  EXPECT_EQ(quoted_printable("abc"), "abc");
  EXPECT_EQ(quoted_printable("abc\ndef\n"), "abc\r\ndef\r\n");
  EXPECT_EQ(quoted_printable("abc\r\ndef\n\n"), "abc\r\ndef\r\n\r\n");
}

TEST(QuotedPrintable, EqualsSignAndNonAscii) {
  EXPECT_EQ(quoted_printable("a=b\n"), "a=3Db\r\n");
  EXPECT_EQ(quoted_printable("café\n"), "caf=C3=A9\r\n");
}

TEST(QuotedPrintable, TrailingWhitespaceIsEncoded) {
  EXPECT_EQ(quoted_printable("abc  \nx \ty\t\n"), "abc =20\r\nx \ty=09\r\n");
  EXPECT_EQ(quoted_printable("end "), "end=20");
}

TEST(QuotedPrintable, LongLinesGetSoftBreaks) {
  EXPECT_EQ(quoted_printable(std::string(76, 'a')), std::string(76, 'a'));
  EXPECT_EQ(quoted_printable(std::string(77, 'a') + "\n"),
            std::string(75, 'a') + "=\r\naa\r\n");
  EXPECT_EQ(quoted_printable(std::string(160, 'a')),
            std::string(75, 'a') + "=\r\n" + std::string(75, 'a') + "=\r\n" +
                std::string(10, 'a'));
}

TEST(QuotedPrintable, NeverSplitsAnEscape) {
  // 74 letters then "é": the escape "=C3" does not fit before the soft break.
  EXPECT_EQ(quoted_printable(std::string(74, 'a') + "é"),
            std::string(74, 'a') + "=\r\n=C3=A9");
  std::string text;
  for (int i = 0; i < 300; ++i) text += (i % 7 == 0) ? "= " : "—x";
  const std::string encoded = quoted_printable(text + "\n");
  for (const std::string& line : split_crlf(encoded)) {
    EXPECT_LE(line.size(), 76U) << line;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] != '=') continue;
      const bool soft_break = i + 1 == line.size();
      const bool escape = i + 2 < line.size() &&
                          std::string_view("0123456789ABCDEF").find(line[i + 1]) !=
                              std::string_view::npos &&
                          std::string_view("0123456789ABCDEF").find(line[i + 2]) !=
                              std::string_view::npos;
      EXPECT_TRUE(soft_break || escape) << line;
      if (escape) i += 2;
    }
  }
}

TEST(Rfc5322Date, UtcWithEnglishNames) {
  EXPECT_EQ(rfc5322_date(TimePoint(std::chrono::seconds(1'780'000'000))),
            "Thu, 28 May 2026 20:26:40 +0000");
  EXPECT_EQ(rfc5322_date(TimePoint(std::chrono::seconds(0))), "Thu, 01 Jan 1970 00:00:00 +0000");
  // Fractions of a second are dropped, never rounded up.
  EXPECT_EQ(rfc5322_date(TimePoint(std::chrono::milliseconds(1'795'021'459'999))),
            "Wed, 18 Nov 2026 17:04:19 +0000");
}

TEST(Rfc5322Date, IndependentOfTheLocale) {
  const char* chosen = nullptr;
  for (const char* name : {"de_DE.UTF-8", "fr_FR.UTF-8", "id_ID.UTF-8", "C.UTF-8"}) {
    if (std::setlocale(LC_ALL, name) != nullptr) {
      chosen = name;
      break;
    }
  }
  const std::string date = rfc5322_date(TimePoint(std::chrono::seconds(1'780'000'000)));
  std::setlocale(LC_ALL, "C");
  EXPECT_EQ(date, "Thu, 28 May 2026 20:26:40 +0000") << (chosen ? chosen : "C");
}

TEST(MessageId, DeterministicFromKindKeyAndRecipient) {
  const std::string id =
      make_message_id("out_of_stock", 42, "alice@example.com", "stockwatch@example.com");
  // sha256("out_of_stock|42|alice@example.com") starts with 50b5d6f4f98359bc.
  EXPECT_EQ(id, "out_of_stock.42.50b5d6f4f98359bc@example.com");
  EXPECT_EQ(make_message_id("out_of_stock", 42, "alice@example.com", "stockwatch@example.com"),
            id);
}

TEST(MessageId, DiffersPerRecipientKindAndKey) {
  const std::string a = make_message_id("out_of_stock", 42, "alice@example.com", "s@example.com");
  EXPECT_NE(a, make_message_id("out_of_stock", 42, "bob@example.com", "s@example.com"));
  EXPECT_NE(a, make_message_id("out_of_stock", 43, "alice@example.com", "s@example.com"));
  EXPECT_NE(a, make_message_id("back_in_stock", 42, "alice@example.com", "s@example.com"));
}

TEST(MessageId, FallsBackToALocalDomain) {
  const std::string id = make_message_id("out_of_stock", 1, "alice@example.com", "stockwatch");
  EXPECT_EQ(id.substr(id.find('@')), "@stockwatch.localhost");
  const std::string odd = make_message_id("out_of_stock", 1, "a@b", "x@bad domain>");
  EXPECT_EQ(odd.substr(odd.find('@')), "@stockwatch.localhost");
  const std::string local = make_message_id("out_of_stock", 1, "a@b", "stockwatch@localhost");
  EXPECT_EQ(local.substr(local.find('@')), "@localhost");
}

}  // namespace
}  // namespace stockwatch
