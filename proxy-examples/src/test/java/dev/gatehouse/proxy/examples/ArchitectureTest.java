package dev.gatehouse.proxy.examples;

import static com.tngtech.archunit.base.DescribedPredicate.describe;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import dev.gatehouse.proxy.AccessLog;
import dev.gatehouse.proxy.CheckReturnValue;
import dev.gatehouse.proxy.auth.BasicAuth;
import dev.gatehouse.proxy.forward.EgressPolicy;
import dev.gatehouse.proxy.forward.InterceptionPolicy;
import dev.gatehouse.proxy.forward.UserPolicy;
import dev.gatehouse.proxy.ratelimit.Limit;
import dev.gatehouse.proxy.testing.TestRequest;
import dev.gatehouse.proxy.testing.TestResponse;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.jspecify.annotations.NullMarked;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The modules' dependency rules, checked on the class path (where the module descriptors' qualified
 * exports do not hold): the direction modules use the core's public API and its SPI only, never each
 * other; the examples use the public API only; no Undertow, XNIO or internal type shows in a public or
 * SPI signature. Reads the main classes of every module (this module depends on all of them).
 */
class ArchitectureTest {
  /** The core's public API: what applications use. */
  private static final String[] CORE_API = {
      "dev.gatehouse.proxy", "dev.gatehouse.proxy.access", "dev.gatehouse.proxy.auth", "dev.gatehouse.proxy.cache",
      "dev.gatehouse.proxy.compress", "dev.gatehouse.proxy.events", "dev.gatehouse.proxy.headers",
      "dev.gatehouse.proxy.metrics", "dev.gatehouse.proxy.ratelimit", "dev.gatehouse.proxy.testing"};
  private static final String SPI = "dev.gatehouse.proxy.spi";
  private static final String REVERSE = "dev.gatehouse.proxy.reverse..";
  private static final String FORWARD = "dev.gatehouse.proxy.forward..";
  private static final String EXAMPLES = "dev.gatehouse.proxy.examples..";
  private static final String[] ENGINE = {"io.undertow..", "org.xnio.."};

  private static JavaClasses classes;

  @BeforeAll
  static void importMainClasses() {
    classes = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.gatehouse.proxy");
  }

  private static String[] with(String[] packages, String... more) {
    return Stream.concat(Stream.of(packages), Stream.of(more)).toArray(String[]::new);
  }

  @Test
  void everyModuleIsThere() {
    // a rule over no classes holds trivially: make sure each module's classes were read
    for (String c : List.of("dev.gatehouse.proxy.ProxyBuilder", "dev.gatehouse.proxy.spi.ProxyRuntime",
        "dev.gatehouse.proxy.internal.server.Engine", "dev.gatehouse.proxy.reverse.ReverseProxy",
        "dev.gatehouse.proxy.forward.ForwardProxy", "dev.gatehouse.proxy.examples.Demo")) {
      classes.get(c);
    }
  }

  @Test
  void theDirectionModulesUseOnlyTheCorePublicApiAndTheSpi() {
    classes().that().resideInAnyPackage(REVERSE, FORWARD)
        .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.gatehouse.proxy..")
            .or(resideInAnyPackage(with(CORE_API, SPI, REVERSE, FORWARD))))
        .because("proxy-reverse and proxy-forward reach the engine through dev.gatehouse.proxy.spi only")
        .check(classes);
  }

  @Test
  void theDirectionModulesSeeNoEngineType() {
    noClasses().that().resideInAnyPackage(REVERSE, FORWARD)
        .should().dependOnClassesThat().resideInAnyPackage(ENGINE)
        .because("Undertow and XNIO are the core's to use: the SPI hides them")
        .check(classes);
  }

  @Test
  void theDirectionModulesNeverDependOnEachOther() {
    noClasses().that().resideInAPackage(REVERSE).should().dependOnClassesThat().resideInAPackage(FORWARD)
        .check(classes);
    noClasses().that().resideInAPackage(FORWARD).should().dependOnClassesThat().resideInAPackage(REVERSE)
        .check(classes);
  }

  @Test
  void theExamplesUseThePublicApiOnly() {
    classes().that().resideInAPackage(EXAMPLES)
        .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.gatehouse.proxy..")
            .or(resideInAnyPackage(with(CORE_API, "dev.gatehouse.proxy.reverse", "dev.gatehouse.proxy.forward",
                EXAMPLES))))
        .because("the examples show what users write: no internal package, no SPI")
        .check(classes);
  }

  @Test
  void noEngineOrInternalTypeShowsInAPublicOrSpiSignature() {
    classes().that().resideInAnyPackage(with(CORE_API, SPI, "dev.gatehouse.proxy.reverse",
            "dev.gatehouse.proxy.forward"))
        .and(describe("are public", ArchitectureTest::isVisible))
        .should(exposeOnlyEngineFreeTypes())
        .check(classes);
  }

  @Test
  void everyPublicPackageDeclaresItsNullness() {
    for (String p : with(CORE_API, SPI, "dev.gatehouse.proxy.reverse", "dev.gatehouse.proxy.forward")) {
      if (!classes.getPackage(p).isAnnotatedWith(NullMarked.class)) {
        throw new AssertionError("package " + p + " is not @NullMarked (expected: in its package-info.java)");
      }
    }
  }

  @Test
  void immutableValueTypesAskForTheirResultToBeUsed() {
    classes().that().haveFullyQualifiedName(EgressPolicy.class.getName())
        .or().haveFullyQualifiedName(InterceptionPolicy.class.getName())
        .or().haveFullyQualifiedName(UserPolicy.class.getName())
        .or().haveFullyQualifiedName(Limit.class.getName())
        .or().haveFullyQualifiedName(AccessLog.class.getName())
        .or().haveFullyQualifiedName(BasicAuth.class.getName())
        .or().haveFullyQualifiedName(TestRequest.class.getName())
        .or().haveFullyQualifiedName(TestResponse.class.getName())
        .should().beAnnotatedWith(CheckReturnValue.class)
        .because("their methods return changed copies: a call whose result is dropped changes nothing")
        .check(classes);
  }

  private static boolean isVisible(JavaClass c) {
    if (!c.getModifiers().contains(JavaModifier.PUBLIC)) {
      return false;
    }
    return c.getEnclosingClass().map(ArchitectureTest::isVisible).orElse(true);
  }

  private static boolean isVisible(Set<JavaModifier> modifiers) {
    return modifiers.contains(JavaModifier.PUBLIC) || modifiers.contains(JavaModifier.PROTECTED);
  }

  private static boolean forbidden(JavaClass type) {
    String n = type.getName();
    return n.startsWith("io.undertow.") || n.startsWith("org.xnio.") || n.startsWith("dev.gatehouse.proxy.internal.")
        || n.startsWith("dev.gatehouse.proxy.forward.internal.");
  }

  private static ArchCondition<JavaClass> exposeOnlyEngineFreeTypes() {
    return new ArchCondition<>("expose no Undertow, XNIO or internal type in a public or protected signature") {
      @Override
      public void check(JavaClass c, ConditionEvents events) {
        List<String> problems = new ArrayList<>();
        c.getSuperclass().ifPresent(t -> note(problems, c.getName() + " extends", t));
        c.getInterfaces().forEach(t -> note(problems, c.getName() + " implements", t));
        for (JavaField f : c.getFields()) {
          if (isVisible(f.getModifiers())) {
            note(problems, f.getFullName() + " is", f.getType());
          }
        }
        for (JavaCodeUnit m : c.getCodeUnits()) {
          if (isVisible(m.getModifiers()) && !m.getModifiers().contains(JavaModifier.SYNTHETIC)) {
            note(problems, m.getFullName() + " returns", m.getReturnType());
            m.getParameterTypes().forEach(t -> note(problems, m.getFullName() + " takes", t));
            m.getThrowsClause().getTypes().forEach(t -> note(problems, m.getFullName() + " throws", t));
          }
        }
        for (String p : problems) {
          events.add(SimpleConditionEvent.violated(c, p));
        }
      }
    };
  }

  private static void note(Collection<String> problems, String where, JavaType type) {
    for (JavaClass raw : type.getAllInvolvedRawTypes()) {
      if (forbidden(raw)) {
        problems.add(where + " " + raw.getName());
      }
    }
  }
}
