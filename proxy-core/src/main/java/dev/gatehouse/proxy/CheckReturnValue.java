package dev.gatehouse.proxy;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The result of a method of the annotated type (or of the annotated method) must be used: the type is
 * immutable and its methods return changed copies, so {@code policy.allowHosts("a.example");} on its
 * own changes nothing. Error Prone's {@code CheckReturnValue} check, and IDEs that know the name,
 * report a call whose result is dropped.
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.CONSTRUCTOR, ElementType.PACKAGE})
public @interface CheckReturnValue {}
