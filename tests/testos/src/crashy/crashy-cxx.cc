// crashy-cxx: a C++ program of TestOS that dies of an uncaught exception (std::terminate → abort).
#include <stdexcept>
#include <string>

namespace crashy {

class Config {
public:
        explicit Config(std::string path) : path_(std::move(path)) {}

#if CRASHY_MAJOR >= 2
        __attribute__((noipa)) void reload()
        {
                const std::string message = "cannot reload " + path_;
                throw std::runtime_error(message); // @line crashy::Config::reload
        }
#else
        __attribute__((noipa)) void load()
        {
                const std::string message = "cannot load " + path_;
                throw std::runtime_error(message); // @line crashy::Config::load
        }
#endif

private:
        std::string path_;
};

} // namespace crashy

int main(int argc, char *argv[])
{
        crashy::Config config(argc > 1 ? argv[1] : "/etc/crashy.conf");

#if CRASHY_MAJOR >= 2
        config.reload(); // @line main:reload
#else
        config.load(); // @line main:load
#endif
        return 0;
}
