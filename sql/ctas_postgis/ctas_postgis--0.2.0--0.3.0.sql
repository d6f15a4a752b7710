-- ctas_postgis 0.2.0 -> 0.3.0: ctas_h3_cell(geography, int) checks its argument itself, so
-- that an error names geog (it called the geometry form, whose errors name geom).
\echo Use "ALTER EXTENSION ctas_postgis UPDATE TO '0.3.0'" to load this file. \quit

CREATE OR REPLACE FUNCTION ctas_h3_cell(geog geography, res int) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path FROM CURRENT AS $$
BEGIN
    -- Its own checks, so that an error names geog, the argument the caller gave.
    IF ST_SRID(geog) <> 4326 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('geog must have SRID 4326 (WGS 84 longitude/latitude), got SRID %s',
                             ST_SRID(geog));
    END IF;
    IF GeometryType(geog) <> 'POINT' THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('geog must be a POINT, got %s', GeometryType(geog)),
            HINT = 'ST_PointOnSurface(geog::geometry)::geography gives a point of a shape.';
    END IF;
    RETURN ctas_h3_cell(ST_Y(geog::geometry), ST_X(geog::geometry), res);
END
$$;
